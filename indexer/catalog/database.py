"""Engine and session factory of the catalog database (SQLite default, PostgreSQL production)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from indexer.catalog import migrate
from indexer.catalog.errors import ConfigError

# Execution option set on the connections of transactions that only read (see CatalogSession).
READ_ONLY = "lookalike_read_only"


class CatalogSession(Session):
    """A session whose implicit transactions only read, and whose `begin()` ones write.

    `with sessions() as s:` (autobegin) reads: on SQLite it begins DEFERRED, so it never
    takes or waits for the write lock (WAL readers see the last commit). `sessions.begin()`
    and `session.begin()` mark their connection as a writer: BEGIN IMMEDIATE on SQLite, so
    concurrent writers queue at BEGIN instead of failing when they upgrade a read.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("execution_options", {READ_ONLY: True})
        super().__init__(*args, **kwargs)

    def begin(self, nested: bool = False) -> SessionTransaction:
        transaction = super().begin(nested=nested)
        if not nested:
            self.connection(execution_options={READ_ONLY: False})
        return transaction


SessionFactory = sessionmaker[CatalogSession]

# The PostgreSQL driver of a URL that names none (`postgresql://`, or `postgres://` as PaaS
# providers and docker images write it): psycopg 3, whatever SQLAlchemy's version defaults to.
POSTGRES_DRIVER = "psycopg"


def engine_url(url: str) -> URL:
    """Parse a database URL, giving `postgres://` and driver-less PostgreSQL URLs a driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {exc}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=f"postgresql+{driver or POSTGRES_DRIVER}")
    return parsed


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and real transactions."""
    parsed = engine_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"DATABASE_URL names a database driver that is not installed "
            f"({parsed.drivername}): {exc}"
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN so SAVEPOINTs and locking behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers wait instead of
        # failing; transactions of read-only sessions begin DEFERRED and never take it.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


WAL_RETRY_S = 30.0


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (persistent: a no-op once a connection has done it).

    Switching needs a lock SQLite may refuse at once, without its busy handler, while
    another process opens the same new database: two `lookalike index` runs started
    together failed with "database is locked". Retry until the switch is made or seen.
    """
    deadline = time.monotonic() + WAL_RETRY_S
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it already is there)."""
    if not migrate.is_current(engine):
        migrate.upgrade(engine)


def make_session_factory(url: str) -> SessionFactory:
    """Engine + schema + a session factory; callers own their sessions."""
    engine = make_engine(url)
    init_db(engine)
    return sessionmaker(engine, class_=CatalogSession, expire_on_commit=False)


# pg_advisory_xact_lock key of catalog registration ("Lkrg" as a 32-bit integer).
REGISTER_LOCK_KEY = 0x4C6B7267


def lock_registration(session: Session) -> None:
    """Serialise transactions that insert image rows until this one ends.

    Two runs indexing the same folder at once would both find a uri missing and both
    insert it. SQLite transactions already take the write lock at BEGIN (IMMEDIATE); on
    PostgreSQL a transaction-scoped advisory lock makes the second run wait, then see the
    first one's rows as known.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTER_LOCK_KEY})
