"""Schema migrations: run the package's Alembic environment from code, safely in parallel.

Every process that opens the catalog calls `upgrade` (through `db.init_db`). On PostgreSQL
the upgrade holds a transaction-scoped advisory lock, so workers starting together migrate
once; on SQLite the engine's `BEGIN IMMEDIATE` serialises them the same way.

Alembic itself (~0.2 s of imports) is imported only to migrate: a catalog already at
HEAD_REVISION is recognised with one query.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from indexer.catalog.schema import Base

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# The newest revision under migrations/versions, named here so that opening a current
# catalog needs no Alembic; tests/indexer/catalog/test_migrations.py holds it to Alembic's.
HEAD_REVISION = "0005"
VERSION_TABLE = "alembic_version"
# The revision whose schema `Base.metadata.create_all` built before migrations existed.
BASELINE = "0001"
# pg_advisory_xact_lock key: "Lkal" as a 32-bit integer, fixed for every process.
ADVISORY_LOCK_KEY = 0x4C6B616C


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for the packaged environment (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = _scripts().get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database is at head and its tables exist (the cheap common case)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return False
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return list(versions) == [HEAD_REVISION] and _has_catalog(conn)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision` in one transaction; return the revision it is at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        _adopt_existing_schema(conn)
        command.upgrade(alembic_config(connection=conn), revision)
        return MigrationContext.configure(conn).get_current_revision()


def _has_catalog(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) & set(Base.metadata.tables))


def _adopt_existing_schema(conn: Connection) -> None:
    """Reconcile the version table with what is really there before upgrading.

    A catalog made by `create_all` before migrations existed has tables but no version:
    it is stamped at the baseline. A version row left behind after the catalog tables were
    dropped (`Base.metadata.drop_all` does not know the version table) is cleared, so the
    upgrade recreates them.
    """
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn)
    version = context.get_current_revision()
    has_catalog = _has_catalog(conn)
    if version is None and has_catalog:
        context.stamp(_scripts(), BASELINE)
    elif version is not None and not has_catalog:
        context.stamp(_scripts(), "base")
