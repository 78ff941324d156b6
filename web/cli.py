"""The `lookalike` command line: index, search, serve, worker, status, demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from indexer.errors import LookalikeError
from indexer.settings import Settings
from web import cli_commands


def demo_catalog() -> Path:
    """The bundled Omniglot demo catalog (MIT; see its README for attribution)."""
    return Path(str(resources.files("indexer") / "demo_catalog"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike", description="Content-based image search with a Siamese encoder."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index image files and folders (recursive)")
    index.add_argument("paths", nargs="+", help="image files or folders")
    index.add_argument("--chunk-size", type=int, default=64, help="images per Celery task")
    index.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    search = sub.add_parser("search", help="find catalog images similar to query images")
    search.add_argument("images", nargs="+", help="query image files")
    search.add_argument("-k", type=int, default=10, help="results per query (default 10)")
    search.add_argument("--json", action="store_true", help="print JSON")

    serve = sub.add_parser("serve", help="serve the page and JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)

    worker = sub.add_parser("worker", help="run a Celery worker (needs REDIS_URL)")
    worker.add_argument("--concurrency", "-c", type=int, default=1)
    worker.add_argument("--loglevel", default="INFO")

    status = sub.add_parser("status", help="show catalog, index and broker status")
    status.add_argument("--json", action="store_true", help="print JSON")

    demo = sub.add_parser("demo", help="index the bundled demo catalog and serve it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=5000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return _dispatch(args, settings)
    except LookalikeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "index":
        return cli_commands.index(
            settings, args.paths, chunk_size=args.chunk_size, progress=not args.no_progress
        )
    if args.command == "search":
        return cli_commands.search(settings, args.images, k=args.k, as_json=args.json)
    if args.command == "serve":
        return cli_commands.serve(settings, host=args.host, port=args.port)
    if args.command == "worker":
        return cli_commands.worker(settings, concurrency=args.concurrency, loglevel=args.loglevel)
    if args.command == "status":
        report = cli_commands.status(settings)
        print(json.dumps(report, indent=2) if args.json else cli_commands.format_status(report))
        return 0
    if args.command == "demo":
        code = cli_commands.index(settings, [str(demo_catalog())], chunk_size=64, progress=True)
        return code or cli_commands.serve(settings, host=args.host, port=args.port)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
