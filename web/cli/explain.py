"""`lookalike explain A B --out DIR`: why do two images match? Overlays and heat grids."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.catalog.settings import Settings

if TYPE_CHECKING:
    from search.explain import ImageRef

# indexer.encoder.attribution.DEFAULT_GRID and MAX_GRID, repeated so that building the parser
# imports no numpy; tests/web/cli/test_explain.py holds them equal.
DEFAULT_GRID = 7
MAX_GRID = 12
FILES = ("a.png", "b.png", "explanation.json")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `explain` to the `lookalike` parser."""
    p = sub.add_parser("explain", help="why do two images match? heatmaps of both (occlusion)")
    p.add_argument("image_a", help="an image file, or the id of an indexed catalog image")
    p.add_argument("image_b", help="an image file, or the id of an indexed catalog image")
    p.add_argument("--out", required=True, help="folder to write " + ", ".join(FILES) + " into")
    p.add_argument("--grid", type=int, default=DEFAULT_GRID,
                   help=f"cells per side, 1 to {MAX_GRID} (default {DEFAULT_GRID})")  # fmt: skip
    for side in ("a", "b"):
        p.add_argument(f"--box-{side}", metavar="L,T,R,B",
                       help=f"explain this region of image {side.upper()}: left,top,right,bottom "
                       "in pixels of the upright image")  # fmt: skip
    p.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.encoder.region import parse_field
    from search.explain import explain_pair
    from search.runtime import build_runtime
    from web import serialize

    engine = build_runtime(settings, load="lazy").engine
    boxes = [
        None if raw is None else parse_field(raw, f"--box-{side}")
        for raw, side in ((args.box_a, "a"), (args.box_b, "b"))
    ]
    result = explain_pair(
        engine,
        _image(args.image_a),
        _image(args.image_b),
        grid=args.grid,
        first_box=boxes[0],
        second_box=boxes[1],
    )
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / FILES[0]).write_bytes(result.first.overlay_png)
    (out / FILES[1]).write_bytes(result.second.overlay_png)
    body = serialize.explanation(result)
    for side, name, given in zip(
        ("image_a", "image_b"), FILES[:2], (args.image_a, args.image_b), strict=True
    ):
        body[side] = {"input": given, "overlay": name} | body[side]
        del body[side]["overlay_png"]  # written beside the JSON instead
    (out / FILES[2]).write_text(json.dumps(body, indent=2) + "\n")
    print(
        f"similarity {result.similarity:.4f} (cosine, {result.model}); {result.grid}x"
        f"{result.grid} occlusion in {result.took_ms:.0f} ms; wrote "
        + ", ".join(str(out / name) for name in FILES)
    )
    return 0


def _image(given: str) -> ImageRef:
    """The bytes of file `given`, or the catalog id it is when no such file exists."""
    from indexer.catalog.fields import MAX_ID
    from indexer.encoder.decode import read_bytes

    path = Path(given).expanduser()
    if not path.exists() and given.isascii() and given.isdigit():
        return min(int(given), MAX_ID + 1)  # too large for the database: still "not found"
    return read_bytes(path)
