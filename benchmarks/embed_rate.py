"""Encoder throughput and latency: ONNX Runtime against eager PyTorch, in the same run.

The default model (EfficientNet-Lite0, 224 px) on preprocessed caltech101-7 photos. Baseline:
eager PyTorch at batch 1 (the per-image loop a request handler would run). Measured: PyTorch
batched, ONNX Runtime at batch 1 and batched, as `Embedder` runs them (FP32, CPU); the two
runtimes' embeddings are compared (largest 1 - cosine). Medians of `--repeats` passes.
Writes benchmarks/results/embed_rate.json and .md.

    .venv/bin/python benchmarks/embed_rate.py [--images 64] [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import median_rate  # noqa: E402
from indexer.checkpoint import default_model  # noqa: E402
from indexer.embedder import Embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"
RESULTS = ROOT / "benchmarks" / "results"


def rate(embedder: Embedder, images: list, batch: int, repeats: int) -> float:
    """Images per second embedding `images` in batches of `batch` (median of repeats)."""
    return median_rate(embedder.embed, images, batch=batch, repeats=repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
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
        onnx_e.embed(images[:2])  # warm-up
        rows = {
            "pytorch_batch1": rate(torch_e, images, 1, args.repeats),
            "pytorch_batched": rate(torch_e, images, args.batch, args.repeats),
            "onnx_batch1": rate(onnx_e, images, 1, args.repeats),
            "onnx_batched": rate(onnx_e, images, args.batch, args.repeats),
        }
    base = rows["pytorch_batch1"]
    report = {
        "images": len(images),
        "batch": args.batch,
        "max_cosine_gap": gap,
        "images_per_s": rows,
        "batch1_ms": {k: 1000 / v for k, v in rows.items() if k.endswith("batch1")},
        "vs_pytorch_batch1": {k: v / base for k, v in rows.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "embed_rate.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"| encoder path ({len(images)} images, 224 px, FP32, CPU) | images/s | ms per image "
        "| vs PyTorch batch 1 |",
        "| --- | --- | --- | --- |",
    ]
    for name, value in rows.items():
        lines.append(f"| {name.replace('_', ' ')} | {value:.1f} | {1000 / value:.1f} | "
                     f"{value / base:.2f}x |")  # fmt: skip
    lines.append(f"\nONNX Runtime vs PyTorch embeddings: largest 1 - cosine {gap:.1e}.")
    table = "\n".join(lines)
    (RESULTS / "embed_rate.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
