"""Administration commands: `lookalike migrate`."""

from __future__ import annotations

import argparse

from indexer.catalog.errors import ConfigError
from indexer.catalog.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the administration subcommands to the `lookalike` parser."""
    p = sub.add_parser("migrate", help="upgrade the catalog database schema (Alembic)")
    p.add_argument("--revision", default="head", help="target revision (default head)")
    p.set_defaults(handler=lambda a, s: migrate_database(s, revision=a.revision))


def migrate_database(settings: Settings, *, revision: str = "head") -> int:
    """Upgrade the schema to `revision` and print where it was and where it is now."""
    from alembic.util import CommandError

    from indexer.catalog import migrate
    from indexer.catalog.database import make_engine

    engine = make_engine(settings.database_url)
    try:
        before = migrate.current_revision(engine)
        after = migrate.upgrade(engine, revision)
    except CommandError as exc:
        raise ConfigError(f"cannot migrate to {revision!r}: {exc}") from exc
    finally:
        engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    head = migrate.head_revision()
    print(f"database {url}: revision {before or 'none'} -> {after} (head {head})")
    return 0
