"""Faithfulness of `lookalike explain`'s heatmaps: the deletion test, and the time they take.

For pairs (A, B) of shared-set images (mostly same label, some different), the served model
(the default EfficientNet-Lite0 on its serving runtime, ONNX Runtime on the CPU) explains A
against B with the product's occlusion (indexer.encoder.attribution, grid G). Then A's cells
are blanked cumulatively, most-attributed first, and the cosine similarity to B is recorded
after each step; the same with the cells in random order (several seeds). A faithful map
makes the similarity fall sooner: a smaller area under the deletion curve (AUC). The gap
(mean random AUC - attribution AUC) per pair is reported as median and quartiles, and the
share of pairs where the attribution order wins.

Honest about the grid: the attribution is computed on the same G x G grid, with the same
neutral fill, that the deletion test blanks; it measures the map at that resolution, and a
one-cell-at-a-time occlusion is the natural greedy first step of exactly this test.

Time per explanation: the whole product call (search.explain.explain_pair: decode both,
2 + 2 G² forward passes, two overlay PNGs), median over pairs, on this machine's CPU.

    .venv/bin/python benchmarks/explain_deletion.py [--pairs 32] [--sets ...] [--grid 7]

Writes benchmarks/results/explain_deletion.json and .md, and the figure
docs/explain_deletion.png. The sets are read from ../shared/data at benchmark time only.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._deletion_plot import plot  # noqa: E402
from benchmarks._machine import describe  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.encoder.attribution import deletion_curve, occlusion_drops  # noqa: E402
from indexer.encoder.decode import decode_image  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = RESULTS / "explain_deletion.json"
FIGURE = ROOT / "docs" / "explain_deletion.png"
MAX_PIXELS = 64_000_000
SETS = ("caltech101-7", "omniglot-background", "coil20-32px")


def labelled(name: str) -> dict[str, list[Path]]:
    by_label: dict[str, list[Path]] = {}
    with (DATA / name / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            by_label.setdefault(row["label"], []).append(DATA / name / row["relpath"])
    return by_label


def pairs(name: str, count: int, different: float, rng: np.random.Generator) -> list[dict]:
    """`count` seeded pairs of distinct images, a `different` share of them across labels."""
    by_label = {k: v for k, v in labelled(name).items() if len(v) >= 2}
    labels = sorted(by_label)
    out = []
    for i in range(count):
        same = i >= round(count * different)
        first = labels[rng.integers(len(labels))]
        second = first if same else labels[rng.integers(len(labels))]
        while second == first and not same:
            second = labels[rng.integers(len(labels))]
        a = by_label[first][rng.integers(len(by_label[first]))]
        b = by_label[second][rng.integers(len(by_label[second]))]
        while b == a:
            b = by_label[second][rng.integers(len(by_label[second]))]
        out.append({"a": a, "b": b, "same": same})
    return out


def serving_runtime(home: Path) -> Any:
    """The product's runtime on a fresh embedded home: the default model, as served."""
    from indexer.catalog.settings import Settings
    from search.runtime import build_runtime

    os.environ.update({"LOOKALIKE_HOME": str(home), "LOOKALIKE_DEVICE": "cpu"})
    for name in ("REDIS_URL", "DATABASE_URL", "LOOKALIKE_MODEL"):
        os.environ.pop(name, None)
    return build_runtime(Settings.from_env(), load="lazy")


def deletion_of(embedder: Any, pair: dict, grid: int, step: int, seeds: int) -> dict[str, Any]:
    """Attribution of A against B, then A's deletion curves: attribution order and random."""
    a, b = (
        embedder.prepare(
            decode_image(p.read_bytes(), max_pixels=MAX_PIXELS, draft_size=embedder.draft_size)
        )
        for p in (pair["a"], pair["b"])
    )
    target = embedder.embed_arrays([b])[0]
    target = target / np.linalg.norm(target)
    heat = occlusion_drops(embedder.embed_arrays, a, target, grid)  # (G, G)
    order = np.argsort(-heat.ravel(), kind="stable")
    ours = deletion_curve(embedder.embed_arrays, a, target, list(order), grid=grid, step=step)
    rng = np.random.default_rng(int(heat.size * 1000 + seeds))
    randoms = [
        deletion_curve(
            embedder.embed_arrays, a, target, list(rng.permutation(grid * grid)), grid=grid,
            step=step,
        )
        for _ in range(seeds)
    ]  # fmt: skip
    random_auc = float(np.mean([r.area() for r in randoms]))
    return {
        "a": str(pair["a"].relative_to(DATA)),
        "b": str(pair["b"].relative_to(DATA)),
        "same": pair["same"],
        "similarity": float(ours.similarity[0]),
        "attribution_auc": ours.area(),
        "random_auc": random_auc,
        "gap": random_auc - ours.area(),
        "deleted": ours.deleted.tolist(),
        "attribution_curve": ours.similarity.tolist(),
        "random_curve": np.mean([r.similarity for r in randoms], axis=0).tolist(),
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    gaps = np.array([r["gap"] for r in rows])
    return {
        "pairs": len(rows),
        "gap_median": float(np.median(gaps)),
        "gap_q1": float(np.percentile(gaps, 25)),
        "gap_q3": float(np.percentile(gaps, 75)),
        "wins": float(np.mean(gaps > 0)),
        "attribution_auc_median": float(np.median([r["attribution_auc"] for r in rows])),
        "random_auc_median": float(np.median([r["random_auc"] for r in rows])),
        "similarity_median": float(np.median([r["similarity"] for r in rows])),
    }


def time_explanations(runtime: Any, chosen: list[dict], grid: int) -> list[float]:
    from search.explain import explain_pair

    spent = []
    for pair in chosen:
        found = explain_pair(runtime.engine, pair["a"].read_bytes(), pair["b"].read_bytes(),
                             grid=grid)  # fmt: skip
        spent.append(found.took_ms)
    return spent


def table(report: dict[str, Any]) -> str:
    lines = [
        f"Deletion test of `lookalike explain` (occlusion, {report['grid']}x{report['grid']} "
        f"grid, A's cells blanked {report['step']} at a time, {report['seeds']} random orders "
        f"per pair); model {report['model']} on {report['runtime']}.",
        "",
        "| set | pairs | kind | AUC attribution | AUC random | gap median [q1, q3] | wins |",
        "|---|---:|---|---:|---:|---|---:|",
    ]
    for name, groups in report["sets"].items():
        for kind, s in groups.items():
            lines.append(
                f"| {name} | {s['pairs']} | {kind} | {s['attribution_auc_median']:.3f} | "
                f"{s['random_auc_median']:.3f} | {s['gap_median']:.3f} "
                f"[{s['gap_q1']:.3f}, {s['gap_q3']:.3f}] | {100 * s['wins']:.0f}% |"
            )
    t = report["time_ms"]
    lines += [
        "",
        f"Time per explanation (the product call, both images, {t['forwards']} forward "
        f"passes): median {t['median']:.0f} ms, range {t['min']:.0f}-{t['max']:.0f} ms over "
        f"{t['n']} pairs; {report['machine']['summary']}.",
        f"Benchmark wall time {report['wall_s']:.0f} s.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS[:2]), choices=SETS)
    parser.add_argument("--pairs", type=int, default=32, help="per set")
    parser.add_argument("--different", type=float, default=0.25, help="share of pairs")
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--step", type=int, default=3, help="cells blanked per curve step")
    parser.add_argument("--seeds", type=int, default=3, help="random orders per pair")
    parser.add_argument("--timed", type=int, default=8, help="pairs timed end to end")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as home:
        runtime = serving_runtime(Path(home))
        embedder = runtime.serving.current().embedder
        chosen = {name: pairs(name, args.pairs, args.different, rng) for name in args.sets}
        timed = [p for name in args.sets for p in chosen[name][-args.timed // len(args.sets) :]]
        time_explanations(runtime, timed[:1], args.grid)  # warm-up
        spent = time_explanations(runtime, timed, args.grid)
        rows = {name: [] for name in args.sets}
        for name in args.sets:
            for i, pair in enumerate(chosen[name]):
                rows[name].append(deletion_of(embedder, pair, args.grid, args.step, args.seeds))
                print(f"{name} {i + 1}/{len(chosen[name])} gap {rows[name][-1]['gap']:+.3f}",
                      flush=True)  # fmt: skip
        report = {
            "grid": args.grid,
            "step": args.step,
            "seeds": args.seeds,
            "model": embedder.version,
            "runtime": embedder.runtime,
            "sets": {
                name: {
                    "all": summary(rows[name]),
                    "same label": summary([r for r in rows[name] if r["same"]]),
                    "different label": summary([r for r in rows[name] if not r["same"]]),
                }
                for name in args.sets
            },
            "time_ms": {
                "median": statistics.median(spent),
                "min": min(spent),
                "max": max(spent),
                "n": len(spent),
                "forwards": 2 + 2 * args.grid**2,
            },
            "machine": describe(),
            "command": " ".join(["benchmarks/explain_deletion.py", *sys.argv[1:]]),
            "rows": rows,
        }
        example = chosen[args.sets[0]][-1]
        overlays = _example(runtime, example, args.grid)
    report["wall_s"] = time.perf_counter() - started
    write_report(OUT, report, table(report))
    plot(report, overlays, FIGURE)
    print(f"wrote {OUT}, {OUT.with_suffix('.md')} and {FIGURE}")
    return 0


def _example(runtime: Any, pair: dict, grid: int) -> tuple[bytes, bytes, float]:
    """The overlays of one same-label pair, for the figure."""
    from search.explain import explain_pair

    found = explain_pair(runtime.engine, pair["a"].read_bytes(), pair["b"].read_bytes(),
                         grid=grid)  # fmt: skip
    return found.first.overlay_png, found.second.overlay_png, found.similarity


if __name__ == "__main__":
    sys.exit(main())
