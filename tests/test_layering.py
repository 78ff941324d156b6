"""The import rules of the house (../shared/STYLE.md, "The architecture in one picture").

- Packages flow one way: indexer <- search <- web; nothing imports web.
- Inside indexer: catalog imports nothing above it; encoder imports only catalog; ingest and
  training import catalog and encoder (training is imported only by the commands that train).
- search imports only indexer.catalog and indexer.encoder.
Every import counts, also those inside functions and under TYPE_CHECKING.

And "each table has one owner module for its SQL": only the owners build SQL statements
(sqlalchemy's select, insert, update, delete, func, text, ...) or run them on a session or
connection, and only indexer/catalog/database.py reaches a session factory's engine
(`kw["bind"]`). Product code only: tests and benchmarks may query the catalog directly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("indexer.catalog", "indexer.encoder", "indexer.ingest", "indexer.training", "search")
# What each part may import from the project (its own modules always).
ALLOWED: dict[str, set[str]] = {
    "indexer.catalog": set(),
    "indexer.encoder": {"indexer.catalog"},
    "indexer.ingest": {"indexer.catalog", "indexer.encoder"},
    "indexer.training": {"indexer.catalog", "indexer.encoder"},
    "search": {"indexer.catalog", "indexer.encoder"},
    "web": {"indexer.catalog", "indexer.encoder", "indexer.ingest", "search", "web"},
    "web.cli": {"indexer", "search", "web"},
}
# Inside web, only the command line may train.
TRAINING_USERS = ("web.cli.", "benchmarks.", "tests.")


def part_of(module: str) -> str:
    """The most specific part of ALLOWED a dotted module name belongs to."""
    for part in sorted(ALLOWED, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return module.split(".")[0]


def imports_of(path: Path) -> set[str]:
    """Dotted names of the project modules `path` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in {"indexer", "search", "web"}}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def allowed(importer: str, imported: str) -> bool:
    own, other = part_of(importer), part_of(imported)
    if other in {own, "indexer"} or other == importer.split(".")[0] == own:
        return True
    return any(other == a or other.startswith(a + ".") for a in ALLOWED[own])


PRODUCT = sorted(p for pkg in ("indexer", "search", "web") for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_follow_the_layers(part: str) -> None:
    offenders = {}
    for path in PRODUCT:
        importer = module_name(path)
        if part_of(importer) != part:
            continue
        bad = sorted(name for name in imports_of(path) if not allowed(importer, name))
        if bad:
            offenders[importer] = bad
    assert offenders == {}


def test_indexer_has_only_its_four_packages() -> None:
    modules = {p.name for p in (ROOT / "indexer").glob("*.py")}
    assert modules == {"__init__.py"}
    packages = {p.name for p in (ROOT / "indexer").iterdir() if (p / "__init__.py").exists()}
    assert packages == {"catalog", "encoder", "ingest", "training"}


def test_training_is_imported_only_by_the_commands_that_train() -> None:
    users = sorted(
        module_name(path)
        for path in PRODUCT
        if not module_name(path).startswith("indexer.training")
        and any(name.startswith("indexer.training") for name in imports_of(path))
    )
    assert [u for u in users if not u.startswith(TRAINING_USERS)] == []


# The modules that own the catalog's tables and so write its SQL (../shared/STYLE.md):
# indexer/catalog/ (images, vectors, jobs, galleries, feedback, content claims, the
# database and its migrations) and the model registry.
SQL_OWNERS = ("indexer/catalog/", "indexer/encoder/registry.py")
# SQL allowed elsewhere, each with its reason (none now).
SQL_EXCEPTIONS: dict[str, str] = {}
ENGINE_OWNER = "indexer/catalog/database.py"
ENGINE_EXCEPTIONS: dict[str, str] = {}
SQL_NAMES = {
    "select", "insert", "update", "delete", "func", "text", "exists", "or_", "and_", "not_",
    "case", "literal", "literal_column", "column", "table", "union", "union_all", "bindparam",
    "Select", "Insert", "Update", "Delete",
}  # fmt: skip
RUNS_SQL = {"execute", "scalar", "scalars", "exec_driver_sql"}


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def excused(path: Path, prefixes: Iterable[str]) -> bool:
    return relative(path).startswith(tuple(prefixes))


def sql_uses(tree: ast.AST) -> list[str]:
    """Where a module builds SQL statements or runs them: `line: what`."""
    found = []
    aliases = set()  # names `import sqlalchemy [as x]` bound
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [f"{node.lineno}: imports {a.name}" for a in node.names if a.name in SQL_NAMES]
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "sqlalchemy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in aliases and node.attr in SQL_NAMES:
                found.append(f"{node.lineno}: uses {node.value.id}.{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value).lower()
            if node.func.attr in RUNS_SQL and ("session" in receiver or "conn" in receiver):
                found.append(f"{node.lineno}: runs {ast.unparse(node.func)}(...)")
    return found


def engine_reaches(tree: ast.AST) -> list[str]:
    """Where a module reads `<factory>.kw["bind"]` (or `.kw.get("bind")`)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "kw"
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == "bind"
        ) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "kw"
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_table_owners_write_sql() -> None:
    offenders = {
        relative(path): uses
        for path in PRODUCT
        if not excused(path, [*SQL_OWNERS, *SQL_EXCEPTIONS])
        and (uses := sql_uses(ast.parse(path.read_text())))
    }
    assert offenders == {}


def test_only_the_database_module_reaches_the_engine() -> None:
    offenders = {
        relative(path): uses
        for path in PRODUCT
        if not excused(path, [ENGINE_OWNER, *ENGINE_EXCEPTIONS])
        and (uses := engine_reaches(ast.parse(path.read_text())))
    }
    assert offenders == {}


def test_the_sql_checks_see_sql() -> None:
    """The scans are not blind: they find what they are for in the owners."""
    images = ast.parse((ROOT / "indexer/catalog/images.py").read_text())
    assert any("imports select" in use for use in sql_uses(images))
    assert any("runs session.execute" in use for use in sql_uses(images))
    assert engine_reaches(ast.parse((ROOT / ENGINE_OWNER).read_text()))
    sample = 'import sqlalchemy as sa\nsa.text("x")\nsessions.kw["bind"].dispose()\n'
    assert sql_uses(ast.parse(sample)) == ["2: uses sa.text"]
    assert engine_reaches(ast.parse(sample)) == ["3: sessions.kw['bind']"]


def test_tests_import_helpers_from_support_modules_never_from_test_modules() -> None:
    """Fixtures live in conftest.py, helpers in support modules: a test module is imported by
    pytest alone (importing one from another runs its tests' module code twice)."""
    offenders = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text())
        bad = sorted(
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("tests.")
            and node.module.rsplit(".", 1)[-1].startswith("test_")
        )
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}
