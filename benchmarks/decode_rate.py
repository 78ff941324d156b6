"""Decode + resize to the model input: the product's path against a full decode, per core.

Real photos (caltech101-7) re-encoded as JPEG at ~0.5 MP and ~12 MP. The baseline decodes
every pixel with Pillow, converts to RGB and resizes to 224 x 224 (what a request handler
naively does); the product path is `decode_image` with JPEG DCT-scaled drafting
(`Image.draft`) followed by `to_array` (resize with `reducing_gap`, normalise). Both run on
one thread; the figure is images per second per core, median of `--repeats` passes. Writes
benchmarks/results/decode_rate.json and .md.

`--draft-quality N` instead measures what drafting costs in retrieval quality: leave-one-out
mAP@R of N labelled caltech101-7 photos as ~0.5 MP JPEGs, embedded by the default model
(ONNX Runtime) after drafting to the model input and to twice that; it writes
benchmarks/results/draft_quality.json and .md.

    .venv/bin/python benchmarks/decode_rate.py [--images 40] [--repeats 3]
    .venv/bin/python benchmarks/decode_rate.py --draft-quality 761
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks._timing import median_rate  # noqa: E402
from indexer.encoder.checkpoint import default_model  # noqa: E402
from indexer.encoder.decode import decode_image  # noqa: E402
from indexer.encoder.embedder import Embedder  # noqa: E402
from indexer.encoder.model import EncoderConfig  # noqa: E402
from indexer.encoder.preprocess import to_array  # noqa: E402
from indexer.training.retrieval_metrics import retrieval_metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"
SIZES = {"0.5 MP": (816, 612), "12 MP": (4000, 3000)}
CONFIG = EncoderConfig()


def sample(count: int) -> list[Path]:
    """`count` caltech photos, spread evenly over the sorted paths (so over the categories)."""
    paths = sorted(DATA.rglob("*.jpg"))
    return paths[:: max(1, len(paths) // count)][:count]


def photos(paths: list[Path], size: tuple[int, int]) -> list[bytes]:
    """Caltech photos upscaled to `size` and saved as quality-90 JPEG."""
    out = []
    for path in paths:
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


def drafted_embeddings(embedder: Embedder, data: list[bytes], side: int) -> np.ndarray:
    """Embeddings (n, d) of JPEGs drafted to no less than `side` while decoding."""
    return embedder.embed([decode_image(d, max_pixels=64_000_000, draft_size=side) for d in data])


def draft_quality(count: int) -> int:
    """mAP@R of 0.5 MP JPEGs drafted to the model input vs to twice it; writes the report."""
    paths = sample(count)
    data, labels = photos(paths, SIZES["0.5 MP"]), np.array([p.parent.name for p in paths])
    drafts = {"input size": CONFIG.input_size, "twice the input size": 2 * CONFIG.input_size}
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder(default_model(), device="cpu", runtime="onnx", onnx_dir=Path(tmp))
        quality = {
            name: retrieval_metrics(drafted_embeddings(embedder, data, side), labels)["map@r"]
            for name, side in drafts.items()
        }
    lines = ["| JPEG draft | mAP@R |", "| --- | --- |"]
    lines += [f"| {name} ({drafts[name]} px) | {value:.4f} |" for name, value in quality.items()]
    lines.append(f"\n{len(paths)} caltech101-7 photos as 0.5 MP JPEGs, model {embedder.version}.")
    report = {"images": len(paths), "model": embedder.version, "map_at_r": quality}
    write_report(RESULTS / "draft_quality.json", report, "\n".join(lines))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draft-quality", type=int, metavar="N", help="see the docstring")
    args = parser.parse_args()
    if args.draft_quality:
        return draft_quality(args.draft_quality)
    rows: list[dict[str, Any]] = []
    for name, size in SIZES.items():
        images = photos(sample(args.images), size)
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
