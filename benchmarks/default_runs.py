"""The default run per shared set: `lookalike train` with no options, then held-out scores.

For each set of `_protocols.PROTOCOLS` it splits `labels.csv` as the protocol does (unseen
alphabets, objects or writers; held-out images where there are too few labels), runs the
command a user types, `lookalike train --data DIR --labels TRAIN.csv --out model.pt` (plus
only `--json --no-progress` to read its outcome), in a subprocess with the default time
budget, and scores the off-the-shelf model and the trained one with `evaluate_folder` (the
core of `lookalike evaluate`) on the held-out rows. It records the wall time, the recipe the
command chose, and whether the command itself claimed to beat the untrained model on its
label-disjoint validation split.

Writes benchmarks/results/default_runs.json (merged with earlier runs) and .md.

    .venv/bin/python benchmarks/default_runs.py [--only omniglot,caltech] [--budget 15m]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._protocols import PROTOCOLS, Protocol, read_rows, write_rows  # noqa: E402
from benchmarks._report import gain, metric_name  # noqa: E402
from indexer.training.evaluate import evaluate_folder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results"
LOOKALIKE = Path(sys.executable).with_name("lookalike")


def default_run(
    protocol: Protocol, *, tmp: Path, models: Path, budget: str | None
) -> dict[str, Any]:
    """Split, run `lookalike train` with no options on the training rows, score both models."""
    root = DATA / protocol.folder
    train_rows, test_rows = protocol.split(read_rows(root / "labels.csv"))
    train_csv = write_rows(tmp / f"{protocol.key}-train.csv", train_rows)
    test_csv = write_rows(tmp / f"{protocol.key}-test.csv", test_rows)
    model = models / f"{protocol.key}-default.pt"
    command = [str(LOOKALIKE), "train", "--data", str(root), "--labels", str(train_csv)]
    command += ["--out", str(model), "--json", "--no-progress"]
    command += ["--time-budget", budget] if budget else []
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    outcome = json.loads(done.stdout)

    def score(model_path: str | None) -> dict[str, Any]:
        result = evaluate_folder(
            root, test_csv, model_path=model_path, forgery_suffix=protocol.forgery_suffix
        )
        return result.to_dict()

    return {
        "set": protocol.folder,
        "protocol": protocol.protocol.split(";")[0],
        "headline": protocol.headline,
        "metrics": list(protocol.metrics),
        "train_images": len(train_rows),
        "test_images": len(test_rows),
        "command": " ".join(["lookalike", *command[1:]]),
        "wall_s": round(wall_s, 1),
        "outcome": outcome,
        "stderr_tail": done.stderr[-4000:],
        "off_the_shelf": score(None),
        "trained": score(str(model)),
    }


def own_verdict(outcome: dict[str, Any]) -> str:
    """What `lookalike train` concluded, with its bootstrap over the validation labels."""
    record = outcome.get("never_worse") or {}
    beats = outcome.get("beats_baseline")
    if beats is None:
        return "n/a"
    if beats:
        said = "beat the untrained model"
    elif record.get("clear_win") is False and record.get("beats_starting_model"):
        said = "did NOT clearly beat it (says so)"
    else:
        said = "did NOT beat it (says so)"
    found = [
        (against, c)
        for against, c in (
            ("its starting model", record.get("starting_confidence")),
            ("off the shelf", record.get("default_confidence")),
        )
        if c
    ]
    if not found:
        return said
    shares = " and ".join(f"{c['p_better']:.0%} against {against}" for against, c in found)
    first = found[0][1]
    units = f"{first['count']} validation {first['units']}"
    return f"{said}: better in {shares} of {first['resamples']} redraws of its {units}"


def table(results: dict[str, Any]) -> str:
    lines = [
        "| set | held out | metric | off-the-shelf | `lookalike train`, no options | wall time "
        "| its own verdict (validation) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results.values():
        off, ours = entry["off_the_shelf"]["metrics"], entry["trained"]["metrics"]
        said_all = own_verdict(entry["outcome"])
        for i, key in enumerate(entry["metrics"]):
            name = metric_name(key, ours)
            name = f"**{name}**" if key == entry["headline"] else name
            first = i == 0
            where = f"{entry['set']} | {entry['protocol']}" if first else " |"
            wall = f"{entry['wall_s']:.0f} s" if first else ""
            said = said_all if first else ""
            change = gain(key, off[key], ours[key])
            lines.append(
                f"| {where} | {name} | {off[key]:.3f} | {ours[key]:.3f} ({change:+.3f}) "
                f"| {wall} | {said} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(PROTOCOLS)}")
    parser.add_argument("--budget", help="--time-budget to pass (default: the command's own)")
    parser.add_argument("--out", type=Path, default=OUT, help="results folder")
    args = parser.parse_args()
    keys = args.only.split(",") if args.only else list(PROTOCOLS)
    unknown = [k for k in keys if k not in PROTOCOLS]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {list(PROTOCOLS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "default_runs.json"
    models = args.out / "models"
    models.mkdir(exist_ok=True)
    results = json.loads(path.read_text()) if path.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            logging.info("=== %s", key)
            results[key] = default_run(
                PROTOCOLS[key], tmp=Path(tmp), models=models, budget=args.budget
            )
            path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results = {k: results[k] for k in PROTOCOLS if k in results}
    (args.out / "default_runs.md").write_text(table(results) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
