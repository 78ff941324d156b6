"""How long `lookalike` commands take from start to exit: --help, one search, a whole index.

Each timed run is one fresh `python -m <cli> ...` subprocess, its wall time from start to
exit with nothing subtracted (interpreter start-up, imports, model load, the work, the
snapshot), and the child's CPU time beside it (on a shared machine it moves less than the
wall time). With --baseline TREE the same commands also run from that source tree
(PYTHONPATH=TREE; its command line module found by itself: `web.cli.main`, or `web.cli`
before the package split), alternately with this tree and the first one swapped every
round, so both see the same machine load. Commands:

- help: `lookalike --help`, --startup-repeats runs;
- search: `lookalike search QUERY -k 10` against a catalog of --search-images JPEGs indexed
  beforehand with the off-the-shelf model (its ONNX export cached), --startup-repeats runs;
- index: `lookalike index FOLDER --no-progress` over --images ~0.5 MP JPEGs (caltech101-7
  re-encoded, as in indexing_rate.py), embedded (SQLite, in-process tasks), the off-the-shelf
  model with its ONNX export cached by a warm-up run; each run in a fresh LOOKALIKE_HOME
  sharing its tree's export cache (as one user's machine keeps it), --repeats runs. The job's
  own time (created after the scan, to finished) is reported beside it.

Medians, with the spread (min-max). Writes benchmarks/results/command_startup.json and .md.

    .venv/bin/python benchmarks/command_startup.py [--baseline TREE] [--images 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._machine import describe  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks.indexing_rate import base_env, job_seconds, make_images  # noqa: E402

OUT = RESULTS / "command_startup.json"
TIMEOUT_S = 900.0
WARM_IMAGES = 8


class Tree:
    """One source tree of Lookalike and how to run its command line."""

    def __init__(self, label: str, path: Path, tmp: Path) -> None:
        self.label, self.path = label, path.resolve()
        split = (self.path / "web" / "cli" / "main.py").is_file()
        self.module = "web.cli.main" if split else "web.cli"
        self.onnx_cache = tmp / f"onnx-{label}"  # the model's export, shared by its runs
        self.onnx_cache.mkdir()
        self.tmp = tmp

    def home(self, name: str) -> Path:
        """A fresh LOOKALIKE_HOME that shares this tree's export cache."""
        home = self.tmp / f"home-{self.label}-{name}"
        home.mkdir()
        (home / "onnx").symlink_to(self.onnx_cache, target_is_directory=True)
        return home

    def env(self, home: Path) -> dict[str, str]:
        return base_env() | {"PYTHONPATH": str(self.path), "LOOKALIKE_HOME": str(home)}

    def run(self, args: list[str], home: Path) -> tuple[float, float, str]:
        """Run `lookalike ARGS`; its wall and CPU seconds and its output. Fails loudly."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", self.module, *args],
            env=self.env(home),
            cwd=self.path,  # `python -m` looks in the working directory first
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"{self.label}: lookalike {' '.join(args)} failed:\n{done.stderr}")
        return wall, cpu, done.stdout

    def commit(self) -> str:
        def git(*args: str) -> str:
            return subprocess.run(
                ["git", "-C", str(self.path), *args], capture_output=True, text=True, check=False
            ).stdout.strip()

        return git("rev-parse", "--short", "HEAD") + (" (modified)" if git("status", "-s") else "")


def alternate(trees: list[Tree], repeats: int, measure: Callable[[Tree, int], None]) -> None:
    """`measure` every tree once per round, the order swapped every round."""
    for r in range(repeats):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            measure(tree, r)


def summary(runs: list[tuple[float, float]]) -> dict[str, Any]:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    return {
        "seconds": walls,
        "cpu_seconds": cpus,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "cpu_median_s": statistics.median(cpus),
    }


def measure_help(trees: list[Tree], repeats: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {t.label: [] for t in trees}

    def once(tree: Tree, r: int) -> None:
        wall, cpu, out = tree.run(["--help"], tree.home(f"help{r}"))
        assert "usage: lookalike" in out, out
        runs[tree.label].append((wall, cpu))

    alternate(trees, repeats, once)
    return {label: summary(r) for label, r in runs.items()}


def measure_search(trees: list[Tree], repeats: int, catalog: Path, query: Path) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {t.label: [] for t in trees}
    homes, answers = {}, {}
    for tree in trees:  # index the catalog once per tree (exports the model), untimed
        homes[tree.label] = tree.home("search")
        tree.run(["index", str(catalog), "--no-progress"], homes[tree.label])

    def once(tree: Tree, r: int) -> None:
        wall, cpu, out = tree.run(["search", str(query), "-k", "10"], homes[tree.label])
        runs[tree.label].append((wall, cpu))
        answers[tree.label] = out

    alternate(trees, repeats, once)
    result: dict[str, Any] = {label: summary(r) for label, r in runs.items()}
    result["same_answers"] = len(set(answers.values())) == 1
    return result


def measure_index(trees: list[Tree], repeats: int, folder: Path, count: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {t.label: [] for t in trees}
    jobs: dict[str, list[float]] = {t.label: [] for t in trees}
    warm = folder.parent / "warm"
    make_images(WARM_IMAGES, warm)
    for tree in trees:  # the export, as a previous run on this machine left it
        tree.run(["index", str(warm), "--no-progress"], tree.home("warm"))

    def once(tree: Tree, r: int) -> None:
        home = tree.home(f"index{r}")
        wall, cpu, out = tree.run(["index", str(folder), "--no-progress"], home)
        assert f"added {count}," in out, out
        runs[tree.label].append((wall, cpu))
        jobs[tree.label].append(job_seconds(tree.env(home)))
        print(f"  index {tree.label} run {r + 1}: {wall:.1f} s", file=sys.stderr)

    alternate(trees, repeats, once)
    result = {}
    for label, r in runs.items():
        entry = summary(r)
        entry["images_per_s"] = count / entry["median_s"]
        entry["job_seconds"] = jobs[label]
        entry["job_images_per_s"] = count / statistics.median(jobs[label])
        result[label] = entry
    return result


def table(report: dict[str, Any]) -> str:
    labels = [t["label"] for t in report["trees"]]
    lines = [
        "| command | tree | runs (s) | median s | spread s | CPU s (median) | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, result in report["results"].items():
        for label in labels:
            entry = result[label]
            note = ""
            if name == "index":
                note = (
                    f"{entry['images_per_s']:.1f} img/s whole run, "
                    f"{entry['job_images_per_s']:.1f} img/s the job"
                )
            if label != labels[0]:
                ratio = entry["median_s"] / result[labels[0]]["median_s"]
                note = f"{note}; " if note else note
                note += f"{ratio:.2f}x the time of {labels[0]}"
            runs = ", ".join(f"{s:.2f}" for s in entry["seconds"])
            lines.append(
                f"| {report['commands'][name]} | {label} | {runs} | {entry['median_s']:.2f} "
                f"| {entry['min_s']:.2f}-{entry['max_s']:.2f} | {entry['cpu_median_s']:.2f} "
                f"| {note} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="another source tree to measure too")
    parser.add_argument("--images", type=int, default=1000, help="JPEGs per index run")
    parser.add_argument("--repeats", type=int, default=3, help="index runs per tree")
    parser.add_argument("--startup-repeats", type=int, default=7, help="help/search runs")
    parser.add_argument("--search-images", type=int, default=50, help="catalog for search")
    parser.add_argument("--only", default="help,search,index", help="subset of the commands")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    wanted = args.only.split(",")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="command-startup-") as name:
        tmp = Path(name)
        trees = [Tree("current", ROOT, tmp)]
        if args.baseline is not None:
            trees.append(Tree("baseline", args.baseline, tmp))
        print(f"writing {args.images} JPEGs ...", file=sys.stderr)
        folder = tmp / "catalog"
        images = make_images(args.images, folder)
        commands = {
            "help": "`lookalike --help`",
            "search": f"`lookalike search` 1 query, {args.search_images}-image catalog",
            "index": f"`lookalike index` {args.images} x 0.5 MP JPEGs, embedded",
        }
        results: dict[str, Any] = {}
        if "help" in wanted:
            results["help"] = measure_help(trees, args.startup_repeats)
        if "search" in wanted:
            small = tmp / "small"
            small.mkdir()
            for path in images[: args.search_images]:
                (small / path.name).symlink_to(path)
            query = images[-1]  # not in the small catalog
            results["search"] = measure_search(trees, args.startup_repeats, small, query)
        if "index" in wanted:
            results["index"] = measure_index(trees, args.repeats, folder, args.images)
        report = {
            "trees": [
                {"label": t.label, "path": str(t.path), "commit": t.commit(), "module": t.module}
                for t in trees
            ],
            "images": args.images,
            "search_images": args.search_images,
            "repeats": args.repeats,
            "startup_repeats": args.startup_repeats,
            "machine": describe(),
            "load_average": {"before": load_before, "after": os.getloadavg()},
            "command": " ".join(["benchmarks/command_startup.py", *sys.argv[1:]]),
            "commands": {k: v for k, v in commands.items() if k in results},
            "results": results,
        }
    write_report(args.out, report, table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
