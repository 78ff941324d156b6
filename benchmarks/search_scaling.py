"""Search scaling: build time, memory per vector, query time and recall per index type and size.

Synthetic clustered unit vectors (d=256 by default) stand in for embeddings. For each catalog
size and each index type that `search.index_factory` can choose (exact Flat, IVF-Flat, IVF-PQ
re-ranked exactly, HNSW), the product's `IndexBuilder` builds the index as a search process
would (training, adding, tuning nprobe / efSearch to recall@10 >= 0.95), then single queries
are timed one at a time (median), against two baselines measured in the same run: numpy
brute force (one matrix product per query) and, up to 10k vectors, a Python loop over the
stored vectors (the one-shot recognition loop of the seed article). Writes
benchmarks/results/search_scaling.json, .md and docs/search_scaling.png.

    .venv/bin/python benchmarks/search_scaling.py [--sizes 10000,100000,1000000] [--dim 256]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks._scaling_plot import plot  # noqa: E402
from benchmarks._timing import median_ms  # noqa: E402
from search.index_build import IndexBuilder  # noqa: E402
from search.index_factory import IndexConfig, choose_factory, knobs, nlist_for  # noqa: E402
from search.recall import exact_knn, recall_against  # noqa: E402

PNG = ROOT / "docs" / "search_scaling.png"
TYPES = {
    "Flat": "Flat",
    "IVF-Flat": "IVF{nlist},Flat",
    "IVF-PQ": "IVF{nlist},PQ32",
    "HNSW": "HNSW32",
    "auto": "auto",  # what the product chooses for this size under the default memory budget
}
QUERIES = 200
TIMED = 100  # single queries timed per measurement
K = 10


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 1000 fixed random centres, like embeddings of many similar things;
    `seed` draws new points (queries are new images of the same kinds of things). Made in
    slices, float32 throughout: 10M x 256 is 10 GB."""
    centres = np.random.default_rng(1234).normal(size=(1000, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 500_000):
        part = out[start : start + 500_000]
        part[:] = centres[rng.integers(0, 1000, size=len(part))]
        part += 0.6 * rng.standard_normal(size=part.shape, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    return out


def build(factory: str, vectors: np.ndarray, ids: np.ndarray) -> tuple[Any, Any, int]:
    """Build as a search process does; return (VectorIndex, BuildReport, serialized bytes)."""

    def exact(wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wanted = wanted[(wanted >= 0) & (wanted < len(vectors))]
        return wanted, vectors[wanted]

    builder = IndexBuilder(factory, vectors.shape[1], IndexConfig(factory=factory), exact=exact)
    builder.train(vectors[: builder.sample_size(len(vectors))])
    for start in range(0, len(vectors), 50_000):
        builder.add(ids[start : start + 50_000], vectors[start : start + 50_000])
    index, report = builder.finish()
    return index, report, int(faiss.serialize_index(index.index).nbytes)


def time_single(search: Any, queries: np.ndarray) -> float:
    """Median milliseconds of one query at a time, on one thread (no fan-out per query)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return median_ms(lambda q: search(q[None, :]), queries[:TIMED])
    finally:
        faiss.omp_set_num_threads(threads)


def python_loop(vectors: np.ndarray) -> Any:
    """The per-item loop: one dot product per stored vector, then sort."""
    rows = list(vectors)

    def search(query: np.ndarray) -> list[int]:
        scores = [float(row @ query[0]) for row in rows]
        return sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:K]

    return search


def numpy_brute(vectors: np.ndarray) -> Any:
    def search(query: np.ndarray) -> np.ndarray:
        scores = vectors @ query[0]
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    return search


def run_size(n: int, dim: int, types: list[str]) -> dict[str, Any]:
    vectors = clustered(n, dim, seed=1)
    ids = np.arange(n, dtype=np.int64)
    queries = clustered(QUERIES, dim, seed=2)
    truth = exact_knn(vectors, ids, queries, K)
    row: dict[str, Any] = {"n": n, "dim": dim, "baselines": {}, "types": {}}
    row["baselines"]["numpy_ms"] = time_single(numpy_brute(vectors), queries)
    if n <= 10_000:
        row["baselines"]["python_loop_ms"] = time_single(python_loop(vectors), queries)
    for name in types:
        factory = TYPES[name].format(nlist=nlist_for(n))
        if factory == "auto":
            factory = choose_factory(n, dim, memory_mb=IndexConfig().memory_mb)
        index, report, size = build(factory, vectors, ids)
        query_ms = time_single(lambda q, built=index: built.search(q, K), queries)
        row["types"][name] = {
            "factory": report.factory,
            "build_s": round(report.seconds, 2),
            "bytes_per_vector": round(size / n, 1),
            "query_ms": query_ms,
            "recall_at_10": recall_against(index, truth, queries, K),
            "build_recall_at_10": report.recall_at_10,
            "knobs": knobs(index.index) | {"rerank_factor": index.rerank_factor},
            "speedup_vs_numpy": row["baselines"]["numpy_ms"] / query_ms,
        }
        print(json.dumps({"n": n, name: row["types"][name]}), file=sys.stderr)
        del index
    return row


def merged(earlier: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier rows with the new ones added; a size measured again takes its new types."""
    by_size = {(r["n"], r["dim"]): r for r in earlier}
    for row in new:
        old = by_size.get((row["n"], row["dim"]))
        if old is not None:
            row = {**old, "baselines": row["baselines"], "types": old["types"] | row["types"]}
        by_size[(row["n"], row["dim"])] = row
    return [by_size[key] for key in sorted(by_size)]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| vectors | index | tuned | build s | bytes / vector | query ms (median, 1 at a time) "
        "| recall@10 | vs numpy brute force | numpy ms | Python loop ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        base = row["baselines"]
        loop = base.get("python_loop_ms")
        for name, t in row["types"].items():
            lines.append(
                f"| {row['n']:,} | {name} (`{t['factory']}`) | {tuned(t)} | {t['build_s']:.1f} | "
                f"{t['bytes_per_vector']:.0f} | {t['query_ms']:.3f} | {t['recall_at_10']:.3f} | "
                f"{t['speedup_vs_numpy']:.1f}x | {base['numpy_ms']:.3f} | "
                f"{'—' if loop is None else f'{loop:.1f}'} |"
            )
    return "\n".join(lines)


def tuned(entry: dict[str, Any]) -> str:
    """The search knobs the build tuned, e.g. "nprobe 16" or "efSearch 64, re-rank 8x"."""
    knob = dict(entry["knobs"])
    parts = [f"nprobe {knob['nprobe']}"] if "nprobe" in knob else []
    parts += [f"efSearch {knob['ef_search']}"] if "ef_search" in knob else []
    if "PQ" in entry["factory"]:
        parts.append(f"re-rank {knob['rerank_factor']}x")
    return ", ".join(parts) or "—"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--types", default="Flat,IVF-Flat,IVF-PQ,HNSW", help=",".join(TYPES))
    parser.add_argument(
        "--append", action="store_true", help="merge into the existing report (e.g. 10M alone)"
    )
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw docs/search_scaling.png from the report"
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads((RESULTS / "search_scaling.json").read_text()), PNG)
        return 0
    rows = [run_size(int(n), args.dim, args.types.split(",")) for n in args.sizes.split(",")]
    if args.append and (RESULTS / "search_scaling.json").is_file():
        earlier = json.loads((RESULTS / "search_scaling.json").read_text())
        rows = merged(earlier, rows)
    plot(rows, PNG)
    write_report(RESULTS / "search_scaling.json", rows, markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
