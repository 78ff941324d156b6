"""Alembic migrations: the migrated schema is exactly the models', on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from indexer.catalog import migrate
from indexer.catalog.database import init_db, make_engine
from indexer.catalog.schema import Base
from web.cli.main import main


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty catalog database; everything, version table too, dropped after."""
    engine = make_engine(database_url)
    _drop_everything(engine)
    yield engine
    _drop_everything(engine)
    engine.dispose()


def _drop_everything(engine: Engine) -> None:
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_migrated_schema_is_exactly_the_models(engine: Engine) -> None:
    init_db(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert schema_differences(engine) == []


def test_the_head_named_in_code_is_alembics() -> None:
    assert migrate.HEAD_REVISION == migrate.head_revision()  # bump it with each new migration


def test_every_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    init_db(engine)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(connection=conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    assert migrate.upgrade(engine) == migrate.head_revision()
    assert schema_differences(engine) == []


def test_a_catalog_made_before_migrations_is_adopted_and_keeps_its_rows(engine: Engine) -> None:
    # The baseline schema, as `create_all` made it, without any version table.
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text(
                "INSERT INTO jobs (kind, source, status, total, skipped, created_at)"
                " VALUES ('index', '/old', 'done', 0, 0, CURRENT_TIMESTAMP)"
            )
        )

    init_db(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM jobs")).scalars().all() == ["/old"]


def test_dropped_tables_come_back_although_the_version_row_stayed(engine: Engine) -> None:
    init_db(engine)
    Base.metadata.drop_all(engine)  # leaves alembic_version at head

    init_db(engine)

    assert schema_differences(engine) == []


def test_processes_starting_together_migrate_once(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(6)]
    _drop_everything(engines[0])
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(init_db, engines))  # raises if any of them failed
        with engines[0].connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == [migrate.head_revision()]
        assert schema_differences(engines[0]) == []
    finally:
        _drop_everything(engines[0])
        for engine in engines:
            engine.dispose()


def test_migrate_command_upgrades_and_prints_the_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    from web.cli import admin as cli_admin
    from web.cli import main as cli

    if cli_admin not in cli.COMMAND_MODULES:  # until the lead registers it
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, cli_admin))

    assert main(["migrate"]) == 0
    assert f"revision none -> {migrate.head_revision()}" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    head = migrate.head_revision()
    assert f"revision {head} -> {head}" in capsys.readouterr().out
    engine = make_engine(url)
    assert schema_differences(engine) == []
    engine.dispose()
