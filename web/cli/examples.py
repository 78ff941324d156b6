"""`lookalike search` by a region and by several examples (--box, --together, --negative).

Registering the options imports nothing heavy; the search imports the runtime when it runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from indexer.catalog.errors import ConfigError
from indexer.catalog.settings import Settings


def add_example_options(p: argparse.ArgumentParser) -> None:
    """Add --box, --together, --negative and --negative-id to the `search` parser."""
    p.add_argument(
        "--box",
        metavar="L,T,R,B",
        help="search by this region of the query: left,top,right,bottom in pixels of the "
        "upright image (every query; with --together the first positive)",
    )
    p.add_argument(
        "--together",
        action="store_true",
        help="one search by all the query images and --id ids together (positive examples)",
    )
    p.add_argument(
        "--negative",
        action="append",
        default=[],
        metavar="FILE",
        help="an image the results should not look like (repeatable; implies --together)",
    )
    p.add_argument(
        "--negative-id",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="a catalog image the results should not look like (repeatable; implies --together)",
    )


def combined(args: argparse.Namespace) -> bool:
    """Whether the query is one search by several examples."""
    return bool(args.together or args.negative or args.negative_id)


def search_combined(args: argparse.Namespace, settings: Settings) -> int:
    """One search by the positive and negative examples (the twin of POST /api/v1/search)."""
    from indexer.encoder.decode import read_bytes
    from indexer.encoder.region import Box
    from search.examples import Example, search_examples
    from search.filters import MetadataFilter
    from search.runtime import build_runtime
    from web import serialize

    if not args.images and not args.ids:
        raise ConfigError("give query image files or --id catalog ids: the positive examples")

    def read(path: str) -> bytes:
        return read_bytes(Path(path).expanduser())

    examples = [Example(data=read(path)) for path in args.images]
    examples += [Example(image_id=i) for i in args.ids]
    if args.box is not None:
        first = examples[0]
        examples[0] = Example(data=first.data, image_id=first.image_id, box=Box.parse(args.box))
    examples += [Example(False, data=read(path)) for path in args.negative]
    examples += [Example(False, image_id=i) for i in args.negative_id]
    engine = build_runtime(settings, load="now").engine
    where = MetadataFilter.parse(args.filter)
    body = serialize.search_result(search_examples(engine, examples, k=args.k, where=where))
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    for rank, hit in enumerate(body["results"], 1):
        print(f"{rank:4d}  {hit['score']:.4f}  #{hit['id']:<7d} {hit['uri']}")
    return 0
