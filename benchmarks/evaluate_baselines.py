"""Off-the-shelf baselines on the shared data sets: the numbers training has to beat.

Runs `evaluate_folder` with the default ImageNet model (or --model) on:

- omniglot-background, a few alphabets (default Greek and Latin), 20-way within-alphabet
  one-shot accuracy;
- caltech101-7 and coil20-32px, retrieval (R@1, mAP@R);
- signatures-train, verification EER on the skilled-forgery protocol (genuine-genuine pairs
  "same", genuine-forgery pairs of the same writer "different"); the off-the-shelf model
  never saw any writer, so the set is writer-disjoint from its training;
- faces-small, verification on the listed pairs.csv.

Prints a markdown table and writes benchmarks/results/baselines.json.

    .venv/bin/python benchmarks/evaluate_baselines.py [--model M] [--device cpu]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.training.evaluate import EvaluationResult, evaluate_folder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "baselines.json"
COLUMNS = ("recall@1", "map@r", "one_shot_accuracy", "roc_auc", "eer")


def alphabet_subset(alphabets: list[str], folder: Path) -> Path:
    """A labels CSV (in a temp folder) with only the rows of these Omniglot alphabets."""
    with (DATA / "omniglot-background" / "labels.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"].split("/")[0] in alphabets]
    path = folder / "omniglot-subset.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["relpath", "label"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def runs(alphabets: list[str], tmp: Path) -> dict[str, dict[str, Any]]:
    """The evaluate_folder arguments of each benchmark set."""
    return {
        f"omniglot ({', '.join(alphabets)})": {
            "data_dir": DATA / "omniglot-background",
            "labels_csv": alphabet_subset(alphabets, tmp),
        },
        "caltech101-7": {"data_dir": DATA / "caltech101-7"},
        "coil20-32px": {"data_dir": DATA / "coil20-32px"},
        "signatures-train": {"data_dir": DATA / "signatures-train", "forgery_suffix": "_forg"},
        "faces-small": {
            "data_dir": DATA / "faces-small",
            "pairs_csv": DATA / "faces-small" / "pairs.csv",
        },
    }


def table(results: dict[str, EvaluationResult]) -> str:
    """A markdown table: one row per set."""
    head = "| set | images | labels | R@1 | mAP@R | one-shot (N-way) | ROC AUC | EER | pairs |"
    lines = [head, "|" + " --- |" * 9]
    for name, result in results.items():
        m, info = result.metrics, result.info
        cells = [f"{m[key]:.3f}" if key in m else "-" for key in COLUMNS]
        if "one_shot_accuracy" in m:
            cells[2] += f" ({int(m['one_shot_n_way'])})"
        lines.append(
            f"| {name} | {info['n_images']} | {info['n_labels']} | "
            + " | ".join(cells)
            + f" | {info['n_pairs']} {info['pairs']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the off-the-shelf model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--alphabets", default="Greek,Latin", help="Omniglot alphabets")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results: dict[str, EvaluationResult] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs in runs(args.alphabets.split(","), Path(tmp)).items():
            print(f"evaluating {name} ...", file=sys.stderr)
            results[name] = evaluate_folder(**kwargs, model_path=args.model, device=args.device)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: r.to_dict() for name, r in results.items()}
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
