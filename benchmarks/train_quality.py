"""Training quality: off-the-shelf vs trained encoder on held-out splits of the shared data.

For each set of `_protocols.PROTOCOLS` it splits `labels.csv` into training and held-out
test rows (unseen alphabets, objects or writers), trains with `train_folder` (the core of
`lookalike train`) on the training rows, and scores the off-the-shelf model and the trained
one with `evaluate_folder` (the core of `lookalike evaluate`) on the same test rows.

Writes benchmarks/results/train_quality.json and .md, keeps the trained checkpoints in
benchmarks/results/models/<set>.pt, (merged with earlier runs of other
sets, so `--only` runs add up) and prints the markdown table. `--quick` is a smoke run
(a few training steps, at most 200 test images) written to train_quality_quick.*.

    .venv/bin/python benchmarks/train_quality.py [--quick] [--only omniglot,coil] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._protocols import PROTOCOLS, Protocol, read_rows, write_rows  # noqa: E402
from benchmarks._report import markdown  # noqa: E402
from indexer.training.evaluate import EvaluationResult, evaluate_folder  # noqa: E402
from indexer.training.run import train_folder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results"
QUICK_TEST_IMAGES = 200


def run_protocol(
    protocol: Protocol, *, quick: bool, tmp: Path, models: Path, device: str
) -> dict[str, Any]:
    """Split, train on the training rows, score both models on the test rows."""
    root = DATA / protocol.folder
    train_rows, test_rows = protocol.split(read_rows(root / "labels.csv"))
    train_csv = write_rows(tmp / f"{protocol.key}-train.csv", train_rows)
    test_csv = write_rows(tmp / f"{protocol.key}-test.csv", test_rows)
    config = protocol.train_config(quick=quick)
    model = models / f"{protocol.key}.pt"  # kept: benchmarks/siamese_tasks.py scores it too
    started = time.perf_counter()
    trained = train_folder(
        config, root, model, labels_csv=train_csv, device=torch.device(device), progress=False
    )
    train_s = time.perf_counter() - started

    def score(model_path: str | None) -> EvaluationResult:
        return evaluate_folder(
            root,
            test_csv,
            model_path=model_path,
            forgery_suffix=protocol.forgery_suffix,
            max_images=QUICK_TEST_IMAGES if quick else None,
            device=device,
        )

    off, ours = score(None), score(str(model))
    return {
        "set": protocol.folder,
        "protocol": protocol.protocol,
        "headline": protocol.headline,
        "metrics": list(protocol.metrics),
        "split": {
            "train_images": len(train_rows),
            "train_labels": len({label for _, label in train_rows}),
            "test_images": len(test_rows),
            "test_labels": sorted({label for _, label in test_rows}),
        },
        "train_config": config.to_dict(),
        "training": {
            "epochs": trained.epochs,
            "version": trained.version,
            "validation_untrained": trained.baseline,
            "validation_trained": trained.metrics,
        },
        "off_the_shelf": off.to_dict(),
        "trained": ours.to_dict(),
        "seconds": {
            "train": round(train_s, 1),
            "evaluate_off_the_shelf": off.info["seconds"],
            "evaluate_trained": ours.info["seconds"],
        },
        "quick": quick,
        "command": " ".join([".venv/bin/python", "benchmarks/train_quality.py", *sys.argv[1:]]),
    }


def load(path: Path) -> dict[str, Any]:
    """Earlier results at `path` (sets run by other invocations), or none."""
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few-minute smoke run")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(PROTOCOLS)}")
    parser.add_argument("--out", type=Path, default=OUT, help="results folder")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    keys = args.only.split(",") if args.only else list(PROTOCOLS)
    unknown = [k for k in keys if k not in PROTOCOLS]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {list(PROTOCOLS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    stem = "train_quality_quick" if args.quick else "train_quality"
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"{stem}.json"
    models = args.out / ("models_quick" if args.quick else "models")
    models.mkdir(exist_ok=True)
    results = load(json_path)
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            logging.info("=== %s", key)
            results[key] = run_protocol(
                PROTOCOLS[key], quick=args.quick, tmp=Path(tmp), models=models, device=args.device
            )
            json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results = {k: results[k] for k in PROTOCOLS if k in results}  # table in a fixed order
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = markdown(results)
    (args.out / f"{stem}.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
