"""The `lookalike` command line: each command module registers its subcommands here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from indexer.catalog.errors import LookalikeError
from indexer.catalog.settings import Settings
from web.cli import admin, calibrate, catalog, evaluate, explain, models, tools, train

# Modules with `register(subparsers)`; each subcommand sets `handler(args, settings) -> int`.
COMMAND_MODULES = (
    catalog,
    evaluate,
    calibrate,
    models,
    train,
    tools,
    explain,
    admin,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike", description="Content-based image search with a Siamese encoder."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.handler(args, settings))
    except LookalikeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
