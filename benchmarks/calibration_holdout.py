"""Does a calibration keep its promise on labels it was not measured on?

For each shared data set: embed every image once with a model (the off-the-shelf one by
default), then, for several seeded splits of the labels into two halves, calibrate on half A
exactly as `lookalike calibrate` does (`calibrate_pairs`) and measure on half B, at the
threshold A chose, the false-accept rate (different pairs called "same") and the false-reject
rate. Two operating points: the equal-error point (promise: A's EER) and FAR 1%.

Pairs: label pairs (same label = same) for omniglot, caltech101-7 and coil20; per-writer
genuine-vs-skilled-forgery pairs for signatures (a writer's genuine and forged signatures stay
on one side); the listed pairs.csv for faces (pairs of identities on one side only).

    .venv/bin/python benchmarks/calibration_holdout.py [--model M] [--splits 5] [--sets a,b]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.encoder.checkpoint import load_model  # noqa: E402
from indexer.encoder.embedder import Embedder  # noqa: E402
from indexer.training.calibrate_folder import calibrate_pairs  # noqa: E402
from indexer.training.evaluate import embed_manifest  # noqa: E402
from indexer.training.retrieval_metrics import pair_indices, paired_similarities  # noqa: E402
from indexer.training.verification_pairs import Pairs, forgery_pairs  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("omniglot-background", "caltech101-7", "coil20-32px", "signatures-train", "faces-small")
POINTS = {"eer": None, "far 1%": 0.01}


def writer(label: str) -> str:
    return label.removesuffix("_forg")


def label_rows(folder: str) -> list[tuple[str, str]]:
    with open(DATA / folder / "labels.csv", newline="") as handle:
        return [(r["relpath"], r["label"]) for r in csv.DictReader(handle)]


def split_keys(keys: list[str], seed: int) -> set[str]:
    """A seeded half of the keys: side A."""
    order = np.random.default_rng(seed).permutation(sorted(keys))
    return set(order[: len(order) // 2].tolist())


def side_pairs(folder: str, relpaths: list[str], labels: np.ndarray, side: np.ndarray) -> Pairs:
    """The pairs of one side (rows where `side` is True), in global row numbers."""
    rows = np.flatnonzero(side)
    if folder == "signatures-train":
        local = forgery_pairs(list(labels[rows]))
    elif folder == "faces-small":
        return listed_pairs(relpaths, side)
    else:
        first, second = pair_indices(labels[rows], max_pairs=20000, seed=0)
        local = Pairs(first, second, labels[rows][first] == labels[rows][second])
    return Pairs(rows[local.first], rows[local.second], local.same)


def listed_pairs(relpaths: list[str], side: np.ndarray) -> Pairs:
    """faces-small/pairs.csv rows whose two images are both on this side."""
    row_of = {p: i for i, p in enumerate(relpaths)}
    found: list[tuple[int, int, bool]] = []
    with open(DATA / "faces-small" / "pairs.csv", newline="") as handle:
        for r in csv.DictReader(handle):
            a, b = row_of.get(r["relpath1"]), row_of.get(r["relpath2"])
            if a is not None and b is not None and side[a] and side[b]:
                found.append((a, b, r["same_person"] == "1"))
    array = np.asarray(found, dtype=np.int64).reshape(-1, 3)
    return Pairs(array[:, 0], array[:, 1], array[:, 2].astype(bool))


def rates(embeddings: np.ndarray, pairs: Pairs, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) of `pairs` at a cosine-score threshold."""
    scores = paired_similarities(embeddings, pairs.first, pairs.second, distance="cosine")
    accepted = scores >= threshold
    return float(accepted[~pairs.same].mean()), float(1.0 - accepted[pairs.same].mean())


def measure_set(folder: str, embedder: Embedder, splits: int) -> dict[str, Any]:
    rows = label_rows(folder)
    embeddings, kept = embed_manifest(
        DATA / folder, rows, embedder, max_pixels=64_000_000, progress=False
    )
    relpaths = [rows[i][0] for i in kept]
    labels = np.asarray([rows[i][1] for i in kept])
    keys = np.asarray([writer(label) for label in labels])
    per_point: dict[str, list[dict[str, float]]] = {p: [] for p in POINTS}
    for seed in range(splits):
        side_a = np.isin(keys, list(split_keys(list(set(keys.tolist())), seed)))
        pairs_a = side_pairs(folder, relpaths, labels, side_a)
        pairs_b = side_pairs(folder, relpaths, labels, ~side_a)
        for point, far in POINTS.items():
            calibration = calibrate_pairs(embeddings, pairs_a, far=far)["cosine"]
            held_far, held_frr = rates(embeddings, pairs_b, calibration.threshold)
            per_point[point].append(
                {
                    "promised_far": calibration.promised_far,
                    "held_out_far": held_far,
                    "held_out_frr": held_frr,
                    "threshold": calibration.threshold,
                    "pairs_a": len(pairs_a),
                    "pairs_b": len(pairs_b),
                }
            )
    return {"images": len(kept), "labels": int(len(set(labels.tolist()))), "points": per_point}


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    promised = np.array([r["promised_far"] for r in runs])
    held = np.array([r["held_out_far"] for r in runs])
    frr = np.array([r["held_out_frr"] for r in runs])
    return {
        "promised_far": float(promised.mean()),
        "held_out_far": float(held.mean()),
        "held_out_far_sd": float(held.std()),
        "gap_mean_abs": float(np.abs(held - promised).mean()),
        "gap_max_abs": float(np.abs(held - promised).max()),
        "held_out_frr": float(frr.mean()),
    }


def table(results: dict[str, Any], model: str, splits: int) -> str:
    lines = [
        f"Calibration promise vs held-out labels ({model}, cosine, {splits} label splits "
        "per set; mean over splits, ± its SD)",
        "",
        "| set | operating point | promised FAR | held-out FAR | mean abs gap | max gap |"
        " held-out FRR |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for folder, entry in results.items():
        for point, runs in entry["points"].items():
            s = summary(runs)
            lines.append(
                f"| {folder} | {point} | {s['promised_far']:.3f} | {s['held_out_far']:.3f} ± "
                f"{s['held_out_far_sd']:.3f} | {s['gap_mean_abs']:.3f} | {s['gap_max_abs']:.3f} "
                f"| {s['held_out_frr']:.3f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint (default: the off-the-shelf model)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--out", default=str(RESULTS / "calibration_holdout.json"))
    args = parser.parse_args()
    loaded = load_model(args.model)
    embedder = Embedder(loaded, device="cpu", runtime="onnx", onnx_dir=Path("/tmp/lookalike-onnx"))
    results = {s: measure_set(s, embedder, args.splits) for s in args.sets.split(",")}
    data = {"model": loaded.version, "splits": args.splits, "sets": results}
    data["summary"] = {
        s: {p: summary(runs) for p, runs in e["points"].items()} for s, e in results.items()
    }
    write_report(Path(args.out), data, table(results, loaded.version, args.splits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
