"""The import rules of the house (../shared/STYLE.md, "The architecture in one picture").

- Packages flow one way: indexer <- search <- web; nothing imports web.
- Inside indexer: catalog imports nothing above it; encoder imports only catalog; ingest and
  training import catalog and encoder (training is imported only by the commands that train).
- search imports only indexer.catalog and indexer.encoder.
Every import counts, also those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
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
