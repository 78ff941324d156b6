"""Relevance feedback: precision@10 of one query image, then after marking 3 results once.

For each labelled set, every image is embedded once with a model (the off-the-shelf one by
default). Each image in turn (or a seeded sample of --queries) is a query: its 10 nearest
other images give P@10 "before". The simulated user then marks the first 3 results right
(same label) or wrong, once; the refined search takes the query and the results marked right
as positive examples and those marked wrong as negative ones, and leaves all four out of its
results (as `POST /api/v1/search` does). Two views of "after":
  kept      what the page shows: the results marked right stay (in its "refined by" strip) and
            the refined list fills the other places of 10; compared with "before"
  residual  P@10 of the refined list alone; compared with "scrolled", the first list without
            the 3 marked results (its ranks 4-13), the fair baseline for a list without them

Rules compared (search.examples documents the one the product uses):
  rocchio w   q = normalise(mean(positives) - w * mean(negatives)), one nearest-neighbour search
  max-sim w   score(x) = max_p cos(x, p) - w * max_n cos(x, n)
The product's rule is Rocchio, one index search (max-sim needs one per positive and an exact
re-scoring); its weight is the best Rocchio weight on --tune-on (signatures-train) by mean
residual P@10, and the other sets are held out from that choice. Every rule's mean is listed.

    .venv/bin/python benchmarks/relevance_feedback.py [--sets ...] [--queries 400] [--k 10]

Embeddings are cached under --cache (default /tmp/lookalike-bench-embeddings) per set and model.

Writes benchmarks/results/relevance_feedback.json and .md. The sets are read from
../shared/data at benchmark time only.
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
from indexer.training.evaluate import embed_manifest  # noqa: E402
from search.examples import NEGATIVE_WEIGHT, combine  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("signatures-train", "caltech101-7", "coil20-32px", "omniglot-background")
MARKED = 3
WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def label_rows(folder: str) -> list[tuple[str, str]]:
    with open(DATA / folder / "labels.csv", newline="") as handle:
        return [(r["relpath"], r["label"]) for r in csv.DictReader(handle)]


def rocchio(emb: np.ndarray, pos: list[int], neg: list[int], weight: float) -> np.ndarray:
    """Scores (n,) of every image under search.examples.combine."""
    query = combine(emb[pos], emb[neg], negative_weight=weight)  # (1, D)
    return emb @ query[0]


def max_sim(emb: np.ndarray, pos: list[int], neg: list[int], weight: float) -> np.ndarray:
    """Scores (n,): best cosine to a positive minus `weight` x best cosine to a negative."""
    scores = (emb @ emb[pos].T).max(axis=1)  # (n,)
    if neg:
        scores = scores - weight * (emb @ emb[neg].T).max(axis=1)
    return scores


RULES = {f"rocchio {w:g}": (rocchio, w) for w in WEIGHTS} | {
    f"max-sim {w:g}": (max_sim, w) for w in WEIGHTS
}


def top(scores: np.ndarray, left_out: set[int], k: int) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if int(i) not in left_out][:k]


def measure_set(emb: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int) -> dict[str, Any]:
    """Per-query P@k before, scrolled, and after each rule (residual, and kept)."""
    per: dict[str, list[float]] = {"before": [], "scrolled": []}
    per |= {r: [] for r in RULES} | {f"{r} kept": [] for r in RULES}
    marks = {"right": 0, "wrong": 0}
    for q in queries.tolist():
        first = top(emb @ emb[q], {q}, k + MARKED)
        hits = labels[first] == labels[q]
        per["before"].append(float(hits[:k].mean()))
        per["scrolled"].append(float(hits[MARKED : MARKED + k].mean()))
        marked = first[:MARKED]
        pos = [q] + [i for i in marked if labels[i] == labels[q]]
        neg = [i for i in marked if labels[i] != labels[q]]
        marks["right"] += len(pos) - 1
        marks["wrong"] += len(neg)
        for name, (rule, weight) in RULES.items():
            refined = labels[top(rule(emb, pos, neg, weight), {q, *marked}, k)] == labels[q]
            per[name].append(float(refined.mean()))
            kept = len(pos) - 1
            per[f"{name} kept"].append(float((kept + refined[: k - kept].sum()) / k))
    return {"queries": len(queries), "marks": marks, "p10": per}


def spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    q25, median, q75 = np.percentile(a, [25, 50, 75])
    return {
        "mean": float(a.mean()),
        "median": float(median),
        "q25": float(q25),
        "q75": float(q75),
        "sd": float(a.std()),
    }


def gains(after: list[float], before: list[float]) -> dict[str, float]:
    delta = np.asarray(after) - np.asarray(before)
    return spread(delta.tolist()) | {
        "improved": float((delta > 0).mean()),
        "worse": float((delta < 0).mean()),
    }


def table(data: dict[str, Any]) -> str:
    rule, k = data["chosen_rule"], data["k"]
    lines = [
        f"Relevance feedback ({data['model']}): P@{k} of one query, then after marking the "
        f"first {MARKED} results right/wrong once; refined by `{rule}` (the product's rule, "
        f"weight chosen on {data['tune_on']}). Mean, median [IQR] over queries.",
        "",
        f"| set | queries | marks right/wrong | P@{k} before | P@{k} after (kept) |"
        " gain: mean, median [IQR] | improved / worse | scrolled past the marks |"
        " after (residual) | residual gain: mean [IQR] |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in data["sets"].items():
        s = entry["summary"]
        g, r = s["gain"], s["gain_vs_scrolled"]
        held = "" if name != data["tune_on"] else " (tuned on)"

        def cell(key: str, s: dict[str, Any] = s) -> str:
            v = s[key]
            return f"{v['mean']:.3f}, {v['median']:.2f} [{v['q25']:.2f}, {v['q75']:.2f}]"

        lines.append(
            f"| {name}{held} | {entry['queries']} | {entry['marks']['right']}/"
            f"{entry['marks']['wrong']} | {cell('before')} | {cell('kept')} | "
            f"**{g['mean']:+.3f}**, {g['median']:+.2f} [{g['q25']:+.2f}, {g['q75']:+.2f}] | "
            f"{g['improved']:.0%} / {g['worse']:.0%} | {cell('scrolled')} | {cell('after')} | "
            f"{r['mean']:+.3f} [{r['q25']:+.2f}, {r['q75']:+.2f}] |"
        )
    names = list(data["sets"])
    lines += ["", f"Mean P@{k} after (residual / kept), every rule:", ""]
    lines += ["| rule | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for name in RULES:
        means = [
            f"{np.mean(e['p10'][name]):.3f} / {np.mean(e['p10'][name + ' kept']):.3f}"
            for e in data["sets"].values()
        ]
        lines.append(f"| {name} | " + " | ".join(means) + " |")
    return "\n".join(lines)


def embeddings(folder: str, embedder: Embedder, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(n, D) embeddings and (n,) labels of a set, cached per set and model version."""
    path = cache / f"{folder}-{embedder.version}.npz"
    if path.is_file():
        stored = np.load(path)
        return stored["emb"], stored["labels"]
    rows = label_rows(folder)
    emb, kept = embed_manifest(DATA / folder, rows, embedder, max_pixels=64_000_000, progress=False)
    labels = np.asarray([rows[i][1] for i in kept])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, emb=emb, labels=labels)
    return emb, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint (default: the off-the-shelf model)")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--tune-on", default="signatures-train")
    parser.add_argument("--queries", type=int, default=400, help="sampled queries per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=10, help="precision at k")
    parser.add_argument("--cache", default="/tmp/lookalike-bench-embeddings")
    parser.add_argument("--out", default=str(RESULTS / "relevance_feedback.json"))
    args = parser.parse_args()
    loaded = load_model(args.model)
    embedder = Embedder(loaded, device="cpu", runtime="onnx", onnx_dir=Path("/tmp/lookalike-onnx"))
    sets: dict[str, Any] = {}
    for folder in args.sets.split(","):
        emb, labels = embeddings(folder, embedder, Path(args.cache))
        rng = np.random.default_rng(args.seed)
        queries = rng.choice(len(emb), size=min(args.queries, len(emb)), replace=False)
        sets[folder] = measure_set(emb, labels, np.sort(queries), args.k)
        print(f"{folder}: {len(emb)} images, {len(queries)} queries", file=sys.stderr)
    tuned = sets[args.tune_on]["p10"]
    chosen = max((r for r in RULES if r.startswith("rocchio")), key=lambda r: np.mean(tuned[r]))
    best = max(RULES, key=lambda r: float(np.mean(tuned[r])))
    for entry in sets.values():
        p10 = entry["p10"]
        entry["summary"] = {
            "before": spread(p10["before"]),
            "kept": spread(p10[f"{chosen} kept"]),
            "gain": gains(p10[f"{chosen} kept"], p10["before"]),
            "scrolled": spread(p10["scrolled"]),
            "after": spread(p10[chosen]),
            "gain_vs_scrolled": gains(p10[chosen], p10["scrolled"]),
        }
    data = {
        "model": loaded.version,
        "marked": MARKED,
        "k": args.k,
        "tune_on": args.tune_on,
        "chosen_rule": chosen,
        "best_rule_on_tune_set": best,
        "product_rule": f"rocchio {NEGATIVE_WEIGHT:g}",
        "sets": sets,
    }
    write_report(Path(args.out), data, table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
