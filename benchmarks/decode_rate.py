"""Decode + resize to the model input: the product's path against a full decode, per core.

Real photos (caltech101-7) re-encoded as JPEG at ~0.5 MP and ~12 MP. The baseline decodes
every pixel with Pillow, converts to RGB and resizes to 224 x 224 (what a request handler
naively does); the product path is `decode_image` with JPEG DCT-scaled drafting
(`Image.draft`) followed by `to_array` (resize with `reducing_gap`, normalise). Both run on
one thread; the figure is images per second per core, median of `--repeats` passes. Writes
benchmarks/results/decode_rate.json and .md.

    .venv/bin/python benchmarks/decode_rate.py [--images 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks._timing import median_rate  # noqa: E402
from indexer.decode import decode_image  # noqa: E402
from indexer.encoder import EncoderConfig  # noqa: E402
from indexer.preprocess import to_array  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"
SIZES = {"0.5 MP": (816, 612), "12 MP": (4000, 3000)}
CONFIG = EncoderConfig()


def photos(count: int, size: tuple[int, int]) -> list[bytes]:
    """`count` caltech photos upscaled to `size` and saved as quality-90 JPEG."""
    paths = sorted(DATA.rglob("*.jpg"))[:: max(1, len(list(DATA.rglob("*.jpg"))) // count)]
    out = []
    for path in paths[:count]:
        with Image.open(path) as image:
            buffer = io.BytesIO()
            image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(
                buffer, "JPEG", quality=90
            )
            out.append(buffer.getvalue())
    return out


def baseline(data: bytes) -> object:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")  # decodes every pixel
    return rgb.resize((CONFIG.input_size, CONFIG.input_size), Image.Resampling.BILINEAR)


def product(data: bytes) -> object:
    image = decode_image(data, max_pixels=64_000_000, draft_size=CONFIG.input_size)
    return to_array(image, CONFIG)


def rate(fn: Callable[[bytes], object], images: list[bytes], repeats: int) -> float:
    """Median images per second over `repeats` passes, one image at a time."""
    return median_rate(lambda one: fn(one[0]), images, batch=1, repeats=repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name, size in SIZES.items():
        images = photos(args.images, size)
        ours, full = rate(product, images, args.repeats), rate(baseline, images, args.repeats)
        rows.append(
            {
                "size": name,
                "pixels": size,
                "images": len(images),
                "mean_kb": sum(map(len, images)) / len(images) / 1024,
                "product_per_s": ours,
                "baseline_per_s": full,
                "speedup": ours / full,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    lines = [
        "| JPEG | images | product (draft + reducing_gap) img/s per core | full decode + resize "
        "img/s per core | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} ({r['pixels'][0]}x{r['pixels'][1]}, {r['mean_kb']:.0f} KB) | "
            f"{r['images']} | {r['product_per_s']:.1f} | {r['baseline_per_s']:.1f} | "
            f"{r['speedup']:.2f}x |"
        )
    write_report(RESULTS / "decode_rate.json", rows, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
