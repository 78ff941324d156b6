"""Near-duplicate benchmark: Lookalike's duplicate groups against imagehash's pHash, dHash and
wHash on the same catalogs of originals, edited copies and distractors.

For each set, --sources originals (seeded) get one copy per transform of benchmarks/_copies.py
(resized, JPEG q20, cropped 80-90%, mirrored, turned +-90 degrees, brightness/contrast, a
caption); the catalog is every image of the set plus the copies. Lookalike runs the product
path: `lookalike index` into a fresh LOOKALIKE_HOME (embedded SQLite, in-process tasks, the
default EfficientNet-Lite0), then `lookalike duplicates --json` at the default threshold
(embedding and signature candidates verified on pixels, search.near_duplicates). The hashes
are linked by Hamming distance over all pairs and grouped by the same star rule. Scored:
pair precision, pair recall, group purity (benchmarks/_pair_metrics.py) and the recall of
original-copy pairs per transform; times are the find step alone (indexing apart). Besides
the defaults (Lookalike's DEFAULT_THRESHOLD; Hamming <= 10 for the hashes), each method's
best threshold (highest pair F1) on each set is reported, from the same links; the Lookalike
default is chosen on --tune-on and held out on the others.

    .venv/bin/python benchmarks/near_duplicates.py [--sources 60] [--sets ...]

Writes benchmarks/results/near_duplicates.json and .md. The photo sets are read from
../shared/data at benchmark time only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._copies import TRANSFORMS, save  # noqa: E402
from benchmarks._hashes import (  # noqa: E402
    COMMON_DISTANCE,
    HASHES,
    hash_bits,
    hash_links,
    score_threshold,  # noqa: E402
)
from benchmarks._pair_metrics import f1, score_groups  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from search.duplicate_groups import Links, tight_groups  # noqa: E402
from search.near_duplicates import DEFAULT_THRESHOLD  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = RESULTS / "near_duplicates.json"
LOOKALIKE = Path(sys.executable).with_name("lookalike")
SETS = {
    "omniglot-demo": ROOT / "indexer" / "demo_catalog",
    "caltech101-7": DATA / "caltech101-7",
    "coil20-32px": DATA / "coil20-32px",
}
SUFFIXES = {".png", ".jpg", ".jpeg"}
SWEEP = [round(t, 3) for t in np.arange(0.80, 0.9951, 0.005)]


def build_catalog(originals: list[Path], folder: Path, sources: int, seed: int) -> dict[str, Any]:
    """Copy the set into `folder` and add seeded copies of `sources` originals.

    Returns paths (all catalog files, resolved), source and transform (see _pair_metrics)."""
    rng = np.random.default_rng(seed)
    picked = set(rng.choice(len(originals), size=sources, replace=False).tolist())
    paths, source, transform = [], {}, {}
    for i, original in enumerate(originals):
        target = (folder / "set" / f"{i:05d}{original.suffix.lower()}").resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target)
        paths.append(str(target))
        source[str(target)] = str(target)
        if i not in picked:
            continue
        with Image.open(original) as image:
            upright = image.convert("RGB")
        for name, edit in TRANSFORMS.items():
            copy = (folder / "copies" / f"{i:05d}_{name}.jpg").resolve()
            copy.parent.mkdir(parents=True, exist_ok=True)
            save(edit(upright, rng), name, copy)
            paths.append(str(copy))
            source[str(copy)], transform[str(copy)] = str(target), name
    return {"paths": paths, "source": source, "transform": transform}


def set_images(name: str) -> list[Path]:
    folder = SETS[name]
    if (folder / "labels.csv").is_file():
        with (folder / "labels.csv").open(newline="") as handle:
            return [folder / row["relpath"] for row in csv.DictReader(handle)]
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)


def product_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env = {k: v for k, v in env.items() if not k.startswith("LOOKALIKE_")}
    return env | {"LOOKALIKE_HOME": str(home), "LOOKALIKE_DEVICE": "cpu"}


def run_cli(args: list[str], home: Path) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(LOOKALIKE), *args], env=product_env(home), capture_output=True, text=True, check=True
    )
    return done.stdout, time.perf_counter() - started


def cli_groups(home: Path) -> tuple[list[list[str]], float, dict[str, Any]]:
    """`lookalike duplicates --json` at the default threshold: groups (near, and exact copies
    joined to their canonical file's group), seconds, the report's settings."""
    out, seconds = run_cli(["duplicates", "--json"], home)
    report = json.loads(out)
    groups = [[m["uri"] for m in g["members"]] for g in report["near"] + report["exact"]]
    info = {k: report[k] for k in ("threshold", "distance", "model", "verified", "unreadable")}
    return groups, seconds, info


def product_links(home: Path) -> tuple[Links, dict[int, str], float]:
    """The product's scored candidate links (search.near_duplicates), for the sweep."""
    from sqlalchemy import select

    from indexer.catalog.schema import Image as ImageRow
    from indexer.catalog.settings import Settings
    from search.near_duplicates import duplicate_links
    from search.runtime import build_runtime

    engine = build_runtime(Settings.from_env(product_env(home)), load="now").engine
    started = time.perf_counter()
    serving = engine.serving.current()
    links, _, _ = duplicate_links(engine, serving, neighbours=10)
    seconds = time.perf_counter() - started
    with engine.sessions() as session:
        uris = {int(i): u for i, u in session.execute(select(ImageRow.id, ImageRow.uri))}
    return links, uris, seconds


def row(method: str, threshold: str, metrics: dict[str, float], seconds: float) -> dict[str, Any]:
    return {"method": method, "threshold": threshold, "seconds": seconds, **metrics}


def metrics_at(
    links: Links, key: list[str] | dict[int, str], threshold: float, truth: dict[str, Any]
) -> dict[str, float]:
    groups = [[key[i] for i, _ in star.members] for star in tight_groups(links, threshold)]
    return score_groups(groups, truth["source"], truth["transform"])


def best_of(
    links: Links, key: list[str] | dict[int, str], thresholds: list[float], truth: dict[str, Any]
) -> tuple[float, dict[str, float]]:
    """The threshold of highest pair F1 (ties: the higher threshold) and its metrics."""
    best: tuple[float, float, dict[str, float]] | None = None
    for t in thresholds:
        metrics = metrics_at(links, key, t, truth)
        if best is None or f1(metrics) >= best[0]:
            best = (f1(metrics), t, metrics)
    assert best is not None
    return best[1], best[2]


def evaluate_set(
    name: str, sources: int, seed: int, tmp: Path, tuned: float | None
) -> dict[str, Any]:
    """All rows of one set; `tuned` (a threshold chosen on another set) adds held-out rows."""
    truth = build_catalog(set_images(name), tmp / name, sources, seed)
    home = tmp / f"{name}-home"
    _, index_s = run_cli(["index", str(tmp / name), "--no-progress"], home)
    groups, find_s, info = cli_groups(home)
    metrics = score_groups(groups, truth["source"], truth["transform"])
    rows = [row("Lookalike", f"{info['threshold']:g} (default)", metrics, find_s)]
    links, uris, link_s = product_links(home)
    t, metrics = best_of(links, uris, SWEEP, truth)
    rows.append(row("Lookalike", f"{t:g} (best)", metrics, link_s))
    if tuned is not None:
        metrics = metrics_at(links, uris, tuned, truth)
        rows.append(row("Lookalike", f"{tuned:g} (tuned elsewhere)", metrics, link_s))
    paths = truth["paths"]
    for hash_name in HASHES:
        bits, hash_s = hash_bits(hash_name, [Path(p) for p in paths])
        started = time.perf_counter()
        links = hash_links(bits, max_distance=20)
        link_s = time.perf_counter() - started + hash_s
        metrics = metrics_at(links, paths, score_threshold(COMMON_DISTANCE), truth)
        rows.append(row(hash_name, f"<= {COMMON_DISTANCE} bits", metrics, link_s))
        t, metrics = best_of(links, paths, [score_threshold(d) for d in range(21)], truth)
        rows.append(row(hash_name, f"<= {round((1 - t) * 64)} bits (best)", metrics, link_s))
    return {
        "set": name,
        "images": len(paths),
        "originals_copied": sources,
        "copies": len(truth["transform"]),
        "index_seconds": index_s,
        "find_seconds": find_s,
        "verified_pairs": info["verified"],
        "unreadable": info["unreadable"],
        "model": info["model"],
        "rows": rows,
    }


def table(results: list[dict[str, Any]], command: str) -> str:
    names = list(TRANSFORMS)
    lines = [
        "| set | method | threshold | precision | recall | purity | groups | "
        + " | ".join(names)
        + " | time s |",
        "|" + " --- |" * (8 + len(names)),
    ]
    for entry in results:
        for r in entry["rows"]:
            cells = [f"{r[k]:.3f}" for k in ("precision", "recall", "purity")]
            per = [f"{r[f'recall_{n}']:.2f}" for n in names]
            lines.append(
                f"| {entry['set']} | {r['method']} | {r['threshold']} | {' | '.join(cells)} | "
                f"{int(r['groups'])} | {' | '.join(per)} | {r['seconds']:.1f} |"
            )
    sizes = "; ".join(
        f"{e['set']}: {e['images']} images, {e['copies']} copies of {e['originals_copied']}, "
        f"indexed in {e['index_seconds']:.0f} s, {e['verified_pairs']} pairs verified"
        for e in results
    )
    return "\n".join([*lines, "", sizes, "", f"`{command}`"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=60, help="originals copied per set")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune-on", default="caltech101-7", choices=list(SETS),
                        help="set whose best threshold is tried on the others")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    command = "python benchmarks/near_duplicates.py " + " ".join(sys.argv[1:])
    results, tuned = [], None
    order = sorted(args.sets, key=lambda n: n != args.tune_on)  # the tuning set first
    with tempfile.TemporaryDirectory() as tmp:
        for name in order:
            if not SETS[name].is_dir():
                print(f"skipping {name}: {SETS[name]} is absent", file=sys.stderr)
                continue
            print(f"{name} ...", file=sys.stderr)
            results.append(evaluate_set(name, args.sources, args.seed, Path(tmp), tuned))
            if name == args.tune_on:
                tuned = float(results[-1]["rows"][1]["threshold"].split()[0])
    payload = {
        "default_threshold": DEFAULT_THRESHOLD,
        "tuned_on": args.tune_on,
        "tuned_threshold": tuned,
        "command": command,
        "sets": results,
    }
    write_report(args.out, payload, table(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
