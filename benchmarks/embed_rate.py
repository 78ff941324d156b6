"""Encoder throughput and latency: ONNX Runtime against eager PyTorch, in the same run.

The default model (EfficientNet-Lite0, 224 px) on decoded caltech101-7 photos (the timing
includes resizing and normalising). Baseline: eager PyTorch at batch 1 (the per-image loop a
request handler would run). Measured: PyTorch batched, ONNX Runtime FP32 (the default) and
the opt-in INT8 at batch 1 and batched, as `Embedder` runs them on the CPU; the FP32
runtimes' embeddings are compared (largest 1 - cosine), and FP32 against INT8 retrieval
quality (leave-one-out mAP@R over the labelled photos). Medians of `--repeats` passes.
Writes benchmarks/results/embed_rate.json and .md.

    .venv/bin/python benchmarks/embed_rate.py [--images 64] [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks._timing import median_rate  # noqa: E402
from indexer.encoder.checkpoint import default_model  # noqa: E402
from indexer.encoder.embedder import Embedder  # noqa: E402
from indexer.training.retrieval_metrics import retrieval_metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"


def rate(embedder: Embedder, images: list, batch: int, repeats: int) -> float:
    """Images per second embedding `images` in batches of `batch` (median of repeats)."""
    return median_rate(embedder.embed, images, batch=batch, repeats=repeats)


def retrieval_quality(embedders: dict[str, Embedder], count: int) -> dict[str, float]:
    """Leave-one-out mAP@R of each embedder on `count` labelled caltech101-7 photos."""
    paths = sorted(DATA.rglob("*.jpg"))
    paths = paths[:: max(1, len(paths) // count)][:count]
    images = [Image.open(p).convert("RGB") for p in paths]
    labels = np.array([p.parent.name for p in paths])
    return {
        name: retrieval_metrics(e.embed(images), labels)["map@r"] for name, e in embedders.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality-images", type=int, default=761, help="for FP32 vs INT8 mAP@R")
    args = parser.parse_args()
    paths = sorted(DATA.rglob("*.jpg"))[: args.images]
    images = [Image.open(p).convert("RGB") for p in paths]
    model = default_model()
    with tempfile.TemporaryDirectory() as tmp:
        torch_e = Embedder(model, device="cpu", runtime="torch", batch_size=args.batch)
        onnx_e = Embedder(model, device="cpu", runtime="onnx", onnx_dir=Path(tmp),
                          batch_size=args.batch)  # fmt: skip
        assert onnx_e.runtime == "onnx", "ONNX Runtime is not installed"
        gap = float(1 - (torch_e.embed(images[:8]) * onnx_e.embed(images[:8])).sum(1).min())
        int8_e = Embedder(model, device="cpu", runtime="onnx-int8", onnx_dir=Path(tmp),
                          batch_size=args.batch)  # fmt: skip
        onnx_e.embed(images[:2]), int8_e.embed(images[:2])  # warm-up
        rows = {
            "pytorch_batch1": rate(torch_e, images, 1, args.repeats),
            "pytorch_batched": rate(torch_e, images, args.batch, args.repeats),
            "onnx_batch1": rate(onnx_e, images, 1, args.repeats),
            "onnx_batched": rate(onnx_e, images, args.batch, args.repeats),
            "onnx_int8_batch1": rate(int8_e, images, 1, args.repeats),
            "onnx_int8_batched": rate(int8_e, images, args.batch, args.repeats),
        }
        quality = retrieval_quality({"fp32": onnx_e, "int8": int8_e}, args.quality_images)
    base = rows["pytorch_batch1"]
    report = {
        "images": len(images),
        "batch": args.batch,
        "max_cosine_gap": gap,
        "map_at_r": quality,
        "images_per_s": rows,
        "batch1_ms": {k: 1000 / v for k, v in rows.items() if k.endswith("batch1")},
        "vs_pytorch_batch1": {k: v / base for k, v in rows.items()},
    }
    lines = [
        f"| encoder path ({len(images)} images, 224 px, CPU) | images/s | ms per image "
        "| vs PyTorch batch 1 |",
        "| --- | --- | --- | --- |",
    ]
    for name, value in rows.items():
        lines.append(f"| {name.replace('_', ' ')} | {value:.1f} | {1000 / value:.1f} | "
                     f"{value / base:.2f}x |")  # fmt: skip
    lines.append(f"\nONNX Runtime vs PyTorch embeddings: largest 1 - cosine {gap:.1e}.")
    lines.append(
        f"Retrieval mAP@R on caltech101-7 ({args.quality_images} photos): FP32 "
        f"{quality['fp32']:.4f}, INT8 {quality['int8']:.4f}."
    )
    write_report(RESULTS / "embed_rate.json", report, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
