"""Off-the-shelf baselines on the shared data sets: the numbers training has to beat.

Runs `evaluate_folder` with the default ImageNet model (or --model) on:

- omniglot-background, a few alphabets (default Greek and Latin, the ones `train_quality.py`
  holds out), 20-way within-alphabet one-shot accuracy;
- caltech101-7 and coil20-32px, retrieval (R@1, mAP@R);
- signatures-train, verification EER on the skilled-forgery protocol (genuine-genuine pairs
  "same", genuine-forgery pairs of the same writer "different"); the off-the-shelf model
  never saw any writer, so the set is writer-disjoint from its training;
- faces-small, verification on the listed pairs.csv;
- with --held-out, also the held-out test rows of `train_quality.py`'s protocols (its
  "off-the-shelf" column).

Prints a markdown table and writes benchmarks/results/baselines.json and .md.

`--scalings imagenet,unit` scores every off-the-shelf model version side by side in one run
(version 1 fed the backbone ImageNet mean/std, version 2 its published [-1, 1] scaling) and
writes benchmarks/results/preprocessing_scaling.json and .md instead.

    .venv/bin/python benchmarks/evaluate_baselines.py [--model M] [--device cpu]
    .venv/bin/python benchmarks/evaluate_baselines.py --scalings imagenet,unit --held-out
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._protocols import LOWER_IS_BETTER, PROTOCOLS, read_rows, write_rows  # noqa: E402
from benchmarks._report import gain  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.encoder.checkpoint import DEFAULT_VERSION, default_model, save_checkpoint  # noqa: E402
from indexer.training.evaluate import EvaluationResult, evaluate_folder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
COLUMNS = ("recall@1", "map@r", "one_shot_accuracy", "roc_auc", "eer")
NAMES = {"recall@1": "R@1 (= P@1)", "map@r": "mAP@R", "one_shot_accuracy": "one-shot",
         "roc_auc": "ROC AUC", "eer": "EER"}  # fmt: skip
# The off-the-shelf model's versions by input scaling: what each one feeds the backbone.
SCALINGS = {"imagenet": "efficientnet_lite0-imagenet-pooled-1", "unit": DEFAULT_VERSION}


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


def held_out_runs(tmp: Path) -> dict[str, dict[str, Any]]:
    """The test rows of train_quality's protocols (omniglot's are the Greek + Latin subset)."""
    out = {}
    for key in ("caltech", "coil", "signatures"):
        protocol = PROTOCOLS[key]
        root = DATA / protocol.folder
        _, test = protocol.split(read_rows(root / "labels.csv"))
        out[f"{protocol.folder}, train_quality test rows"] = {
            "data_dir": root,
            "labels_csv": write_rows(tmp / f"{key}-test.csv", test),
            "forgery_suffix": protocol.forgery_suffix,
        }
    return out


def cells(result: EvaluationResult) -> list[str]:
    m = result.metrics
    out = [f"{m[key]:.3f}" if key in m else "-" for key in COLUMNS]
    if "one_shot_accuracy" in m:
        out[2] += f" ({int(m['one_shot_n_way'])})"
    return out


def table(results: dict[str, EvaluationResult]) -> str:
    """A markdown table: one row per set."""
    head = "| set | images | labels | R@1 | mAP@R | one-shot (N-way) | ROC AUC | EER | pairs |"
    lines = [head, "|" + " --- |" * 9]
    for name, result in results.items():
        info = result.info
        lines.append(
            f"| {name} | {info['n_images']} | {info['n_labels']} | "
            + " | ".join(cells(result))
            + f" | {info['n_pairs']} {info['pairs']} |"
        )
    return "\n".join(lines)


def side_by_side(results: dict[str, dict[str, EvaluationResult]]) -> str:
    """One row per set and metric, a column per scaling, the change of the last vs the first."""
    names = list(results)
    first, last = names[0], names[-1]
    lines = [
        f"| set | metric | {' | '.join(f'{n} ({SCALINGS[n]})' for n in names)} "
        f"| change ({last} - {first}) | |",
        "|" + " --- |" * (len(names) + 4),
    ]
    for name in results[first]:
        old = results[first][name].metrics
        for key in (k for k in COLUMNS if k in old):
            values = [results[n][name].metrics[key] for n in names]
            better = gain(key, values[0], values[-1])
            verdict = "better" if better > 0 else ("same" if better == 0 else "**worse**")
            metric = NAMES[key] + (" (lower is better)" if key in LOWER_IS_BETTER else "")
            lines.append(
                f"| {name} | {metric} | {' | '.join(f'{v:.3f}' for v in values)} | "
                f"{values[-1] - values[0]:+.3f} | {verdict} |"
            )
    return "\n".join(lines)


def evaluate_all(sets: dict[str, dict[str, Any]], model: str | None, device: str) -> dict:
    results: dict[str, EvaluationResult] = {}
    for name, kwargs in sets.items():
        print(f"evaluating {name} with {model or 'off-the-shelf'} ...", file=sys.stderr)
        results[name] = evaluate_folder(**kwargs, model_path=model, device=device)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the off-the-shelf model)")
    parser.add_argument("--scalings", help=f"off-the-shelf versions side by side: {SCALINGS}")
    parser.add_argument("--held-out", action="store_true", help="add train_quality's test rows")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--alphabets", default="Greek,Latin", help="Omniglot alphabets")
    parser.add_argument("--out", type=Path, help="JSON path (the .md goes beside it)")
    args = parser.parse_args()
    scalings = args.scalings.split(",") if args.scalings else []
    if any(s not in SCALINGS for s in scalings) or (scalings and args.model):
        parser.error(f"--scalings takes names of {list(SCALINGS)}, without --model")
    with tempfile.TemporaryDirectory() as tmp:
        sets = runs(args.alphabets.split(","), Path(tmp))
        if args.held_out:
            sets |= held_out_runs(Path(tmp))
        if not scalings:
            results = evaluate_all(sets, args.model, args.device)
            out = args.out or RESULTS / "baselines.json"
            write_report(out, {n: r.to_dict() for n, r in results.items()}, table(results))
            return 0
        by_scaling = {}
        for scaling in scalings:
            path = Path(tmp) / f"{scaling}.pt"
            save_checkpoint(path, default_model(SCALINGS[scaling]).encoder,
                            version=SCALINGS[scaling])  # fmt: skip
            by_scaling[scaling] = evaluate_all(sets, str(path), args.device)
    payload = {s: {n: r.to_dict() for n, r in rs.items()} for s, rs in by_scaling.items()}
    tables = [side_by_side(by_scaling)] + [f"{s}:\n\n{table(rs)}" for s, rs in by_scaling.items()]
    write_report(args.out or RESULTS / "preprocessing_scaling.json", payload, "\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
