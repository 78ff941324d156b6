"""Region queries on 2 x 2 mosaics of catalog photos: each quadrant searched by its box.

The catalog is every caltech101-7 photo, indexed by the product (`lookalike index` into a
fresh LOOKALIKE_HOME: embedded SQLite, in-process tasks, the off-the-shelf model). --mosaics
seeded mosaics are built from distinct catalog photos: each photo is resized to fit a
TILE x TILE cell (aspect kept, centred on grey) and the mosaic saved as a JPEG (quality 90).

Forward: each quadrant is searched through the product's query path
(`QueryEngine.search_image(data, box=...)`, the box the photo's own rectangle); scored is
the share of quadrants whose source photo is at rank 1 (target >= 0.95) and in the top 10,
against the whole mosaic searched without a box (source in the top 10 at all).

Reverse: does a source photo find the mosaic that contains it? A second catalog holds the
mosaics and the photos used in none (distractors); each source photo's stored vector queries
it, scored as "its mosaic in the top 10". Off: one vector per mosaic (the product today).
On: besides the whole mosaic, one vector per cell of a 2 x 2 grid, a mosaic ranked by its best
vector: what catalog-side region indexing would give (computed here, not a product option),
with its cost in vectors and embedding time. Its grid meets the mosaic's cells exactly, the
best case for a grid.

    .venv/bin/python benchmarks/region_mosaic.py [--mosaics 50]

Writes benchmarks/results/region_mosaic.json and .md. The photos are read from ../shared/data
at benchmark time only.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.catalog.schema import Image as Row  # noqa: E402
from indexer.catalog.settings import Settings  # noqa: E402
from indexer.encoder.region import Box  # noqa: E402
from search.engine import QueryEngine  # noqa: E402
from search.runtime import build_runtime  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"
TILE = 256
K = 10
LOOSE = 16  # pixels a loose box reaches past the photo on each side (into grey or a neighbour)


def photos() -> list[Path]:
    with open(DATA / "labels.csv", newline="") as handle:
        return [DATA / row["relpath"] for row in csv.DictReader(handle)]


def product_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env = {k: v for k, v in env.items() if not k.startswith("LOOKALIKE_")}
    return env | {"LOOKALIKE_HOME": str(home), "LOOKALIKE_DEVICE": "cpu", "PYTHONPATH": str(ROOT)}


def index(home: Path, folder: Path) -> float:
    """`lookalike index folder` (this checkout's code); seconds."""
    started = time.perf_counter()
    argv = [sys.executable, "-m", "web.cli.main", "index", str(folder), "--no-progress"]
    subprocess.run(argv, env=product_env(home), cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def mosaic(sources: list[Path]) -> tuple[bytes, list[Box]]:
    """Four photos in a 2 x 2 grid of TILE cells, as JPEG bytes, and each photo's box."""
    canvas = Image.new("RGB", (2 * TILE, 2 * TILE), (128, 128, 128))
    boxes = []
    for i, path in enumerate(sources):
        photo = Image.open(path).convert("RGB")
        photo.thumbnail((TILE, TILE), Image.Resampling.LANCZOS)
        left = (i % 2) * TILE + (TILE - photo.width) // 2
        top = (i // 2) * TILE + (TILE - photo.height) // 2
        canvas.paste(photo, (left, top))
        boxes.append(Box(left, top, left + photo.width, top + photo.height))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue(), boxes


def forward(
    engine: QueryEngine, mosaics: list[tuple[bytes, list[Box]]], ids: list[list[int]]
) -> dict[str, Any]:
    """Each quadrant by its box (and by a loose box, LOOSE px wider each side, as a hand
    drawn one may be): rank of its source; and the whole mosaic without a box."""
    ranks: dict[str, list[int | None]] = {"exact": [], "loose": []}
    unboxed, seconds = [], []
    for (data, boxes), sources in zip(mosaics, ids, strict=True):
        whole = [h.id for h in engine.search_image(data, k=K).hits]
        for box, source in zip(boxes, sources, strict=True):
            loose = Box(
                max(box.left - LOOSE, 0),
                max(box.top - LOOSE, 0),
                min(box.right + LOOSE, 2 * TILE),
                min(box.bottom + LOOSE, 2 * TILE),
            )
            for name, query in (("exact", box), ("loose", loose)):
                started = time.perf_counter()
                found = [h.id for h in engine.search_image(data, k=K, box=query).hits]
                seconds.append(time.perf_counter() - started)
                ranks[name].append(found.index(source) + 1 if source in found else None)
            unboxed.append(source in whole)
    n = len(unboxed)
    return {
        "quadrants": n,
        "rank1": sum(r == 1 for r in ranks["exact"]) / n,
        "top10": sum(r is not None for r in ranks["exact"]) / n,
        "loose_rank1": sum(r == 1 for r in ranks["loose"]) / n,
        "loose_top10": sum(r is not None for r in ranks["loose"]) / n,
        "without_box_top10": sum(unboxed) / n,
        "misses": [i for i, r in enumerate(ranks["exact"]) if r != 1],
        "ms_per_query": 1000 * float(np.median(seconds)),
    }


def embed_mosaics(engine: QueryEngine, mosaics: list[tuple[bytes, list[Box]]]) -> dict[str, Any]:
    """Whole-mosaic vectors (m, D), grid-cell vectors (m, 4, D), and the seconds of each."""
    started = time.perf_counter()
    whole = np.concatenate([engine.embed_bytes(data) for data, _ in mosaics])
    whole_s = time.perf_counter() - started
    cells = [Box(x, y, x + TILE, y + TILE) for y in (0, TILE) for x in (0, TILE)]
    started = time.perf_counter()
    grid = np.stack(
        [np.concatenate([engine.embed_bytes(data, box=c) for c in cells]) for data, _ in mosaics]
    )
    return {
        "whole": whole,
        "grid": grid,
        "whole_s": whole_s,
        "grid_s": time.perf_counter() - started,
    }


def reverse(
    queries: np.ndarray, owner: list[int], mosaics: dict[str, Any], distractors: np.ndarray
) -> dict[str, Any]:
    """Share of source photos (queries (q, D), `owner[i]` its mosaic) finding their mosaic in
    the top 10 among mosaics and distractors, with and without grid vectors."""
    m = len(mosaics["whole"])
    out = {}
    for name, per_mosaic in (
        ("off", mosaics["whole"] @ queries.T),  # (m, q)
        ("on", np.maximum(mosaics["whole"] @ queries.T, (mosaics["grid"] @ queries.T).max(1))),
    ):
        other = distractors @ queries.T  # (d, q)
        found = 0
        for j in range(len(queries)):
            scores = np.concatenate([per_mosaic[:, j], other[:, j]])
            top = np.argsort(-scores)[:K]
            found += int(owner[j] in top[top < m])
        out[name] = found / len(queries)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mosaics", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "region_mosaic.json"))
    args = parser.parse_args()
    all_photos = photos()
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(all_photos), size=4 * args.mosaics, replace=False).reshape(-1, 4)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        index_s = index(home, DATA)
        settings = Settings.from_env(product_env(home))
        runtime = build_runtime(settings, load="now")
        engine = runtime.engine
        with runtime.sessions() as session:
            id_of = {Path(uri): i for i, uri in session.execute(select(Row.id, Row.uri))}
        ids = [[id_of[all_photos[p].resolve()] for p in row] for row in picked]
        built = [mosaic([all_photos[p] for p in row]) for row in picked]
        fwd = forward(engine, built, ids)
        vectors = embed_mosaics(engine, built)
        version = runtime.serving.version
        used = set(picked.ravel().tolist())
        query_vecs = np.concatenate([engine.stored_vector(i, version) for row in ids for i in row])
        owner = [m for m in range(args.mosaics) for _ in range(4)]
        others = [id_of[p.resolve()] for n, p in enumerate(all_photos) if n not in used]
        distractors = np.concatenate([engine.stored_vector(i, version) for i in others])
        rev = reverse(query_vecs, owner, vectors, distractors)
    data = {
        "model": version,
        "catalog": len(all_photos),
        "index_s": index_s,
        "mosaics": args.mosaics,
        "tile": TILE,
        "forward": fwd,
        "reverse": {
            "catalog": {"mosaics": args.mosaics, "distractors": len(others)},
            "top10": rev,
            "vectors_per_mosaic": {"off": 1, "on": 5},
            "embed_s_per_mosaic": {
                "off": vectors["whole_s"] / args.mosaics,
                "on": (vectors["whole_s"] + vectors["grid_s"]) / args.mosaics,
            },
        },
    }
    write_report(Path(args.out), data, table(data))
    return 0


def table(data: dict[str, Any]) -> str:
    f, r = data["forward"], data["reverse"]
    cost = r["embed_s_per_mosaic"]
    return "\n".join(
        [
            f"Region queries on {data['mosaics']} 2 x 2 mosaics of caltech101-7 photos "
            f"({data['catalog']}-photo catalog indexed in {data['index_s']:.0f} s, "
            f"{data['model']}, tiles {data['tile']} px)",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| quadrant by its box: source at rank 1 | **{f['rank1']:.3f}** "
            f"({f['quadrants']} quadrants) |",
            f"| quadrant by its box: source in the top 10 | {f['top10']:.3f} |",
            f"| quadrant by a loose box (+{LOOSE} px each side): source at rank 1 | "
            f"{f['loose_rank1']:.3f} (top 10: {f['loose_top10']:.3f}) |",
            f"| whole mosaic, no box: source in the top 10 | {f['without_box_top10']:.3f} |",
            f"| median time per region query | {f['ms_per_query']:.0f} ms |",
            f"| reverse, region indexing off: photo finds its mosaic in the top 10 | "
            f"{r['top10']['off']:.3f} (1 vector per mosaic, "
            f"{cost['off'] * 1000:.0f} ms to embed) |",
            f"| reverse, 2 x 2 grid vectors on (computed, not a product option) | "
            f"{r['top10']['on']:.3f} (5 vectors per mosaic, "
            f"{cost['on'] * 1000:.0f} ms to embed) |",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
