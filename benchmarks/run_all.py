"""Every performance benchmark in one command: one JSON report and one markdown table.

Runs, each in its own process and one after another (they would share the CPU otherwise):
decode (`decode_rate.py`), encoder (`embed_rate.py`), bulk indexing end to end
(`indexing_rate.py`), index build and search scaling (`search_scaling.py`), HTTP search
under gunicorn (`load_test.py`) and the commands' start-to-exit times (`command_startup.py`:
--help, one search, a whole index; with --baseline TREE also those of another source tree).
Every step measures its baseline in the same run: full
Pillow decode + resize, eager PyTorch at batch 1, the same indexing pipeline on PyTorch,
numpy brute force and a Python loop over stored vectors, the same server on PyTorch. The
summary puts each target of the performance issue beside its measured median, baseline and
ratio. Writes benchmarks/results/performance.json and performance.md; each step also
leaves its own JSON and markdown there.

    .venv/bin/python benchmarks/run_all.py            # the full run (about 45 min on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, to check the harness
    .venv/bin/python benchmarks/run_all.py --only decode,embed   # rerun some, keep the rest
    .venv/bin/python benchmarks/run_all.py --only commands --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._machine import describe  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks._summary import summarise, table  # noqa: E402


@dataclass(frozen=True)
class Step:
    """One benchmark script, its arguments for a full and a quick run, and what it writes."""

    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...] | None  # None: not part of a quick run
    writes: str  # JSON file under RESULTS


STEPS = (
    Step("decode", "decode_rate.py", ("--images", "40", "--repeats", "3"),
         ("--images", "6", "--repeats", "1"), "decode_rate.json"),
    Step("embed", "embed_rate.py", ("--images", "64", "--batch", "8", "--repeats", "3"),
         ("--images", "8", "--batch", "4", "--repeats", "1"), "embed_rate.json"),
    Step("indexing", "indexing_rate.py",
         ("--images", "1000", "--repeats", "3",
          "--configs", "embedded,embedded-torch,embedded-int8,workers-2"),
         ("--images", "40", "--repeats", "1", "--configs", "embedded,embedded-torch"),
         "indexing_rate.json"),
    Step("search", "search_scaling.py", ("--sizes", "10000,100000,1000000",),
         ("--sizes", "2000,20000", "--types", "Flat,IVF-Flat,HNSW"), "search_scaling.json"),
    # 10M x 256 floats are 10 GB: over the default 4 GB memory budget the automatic choice
    # is IVF-PQ (64 bytes a code), the one type built at this size (Flat / IVF-Flat would
    # need the 10 GB twice beside the benchmark's copy; HNSW about half an hour to build)
    Step("search-10m", "search_scaling.py", ("--sizes", "10000000", "--types", "auto",
         "--append"), None, "search_scaling.json"),
    Step("http", "load_test.py",
         ("--levels", "1,2,4,8,16", "--seconds", "20", "--runtimes", "onnx,torch,onnx-int8"),
         ("--levels", "1,4", "--seconds", "3", "--runtimes", "onnx,torch"), "load.json"),
    Step("commands", "command_startup.py",
         ("--images", "1000", "--repeats", "3", "--startup-repeats", "5"),
         ("--images", "40", "--repeats", "1", "--startup-repeats", "2", "--search-images", "10"),
         "command_startup.json"),
)  # fmt: skip


def run_step(step: Step, quick: bool, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run one script to completion; its report, wall time and exit status."""
    command = [sys.executable, str(ROOT / "benchmarks" / step.script)]
    command += list(step.quick if quick and step.quick is not None else step.full) + list(extra)
    print(f"== {step.name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, check=False)
    entry: dict[str, Any] = {
        "command": " ".join(["benchmarks/" + step.script, *command[2:]]),
        "started": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "exit_code": done.returncode,
    }
    path = RESULTS / step.writes
    if done.returncode == 0 and path.is_file():
        entry["report"] = json.loads(path.read_text())
    return entry


def latest_reports(steps: dict[str, Any]) -> dict[str, Any]:
    """Each step's report; the 10M step appends to the search report, so it stands for both."""
    reports = {name: step.get("report") for name, step in steps.items()}
    if reports.get("search-10m") is not None:
        reports["search"] = reports["search-10m"]
    return reports


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# Lookalike performance",
        "",
        f"{machine['summary']}. {'Quick smoke run, not the benchmark. ' if report['quick'] else ''}"
        "Medians; every ratio is against a baseline measured in the same run.",
        "",
        table(report["summary"]),
        "",
        "| step | command | seconds | exit |",
        "| --- | --- | --- | --- |",
    ]
    for name, step in report["steps"].items():
        lines.append(
            f"| {name} | `{step['command']}` | {step['seconds']:.0f} | {step['exit_code']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    parser.add_argument("--only", default="", help="comma-separated steps: " + ",".join(
        s.name for s in STEPS))  # fmt: skip
    parser.add_argument("--baseline", type=Path, help="commands step: also time this source tree")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(","))) or {s.name for s in STEPS}
    unknown = wanted - {s.name for s in STEPS}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    chosen = [s for s in STEPS if s.name in wanted and not (args.quick and s.quick is None)]
    extra = {"commands": ("--baseline", str(args.baseline)) if args.baseline else ()}
    steps = {s.name: run_step(s, args.quick, extra.get(s.name, ())) for s in chosen}
    earlier = RESULTS / "performance.json"
    if args.only and earlier.is_file():  # a partial rerun keeps the other steps' results
        previous = json.loads(earlier.read_text())
        if previous.get("quick") == args.quick:
            steps = {n: s for n, s in previous["steps"].items() if n not in steps} | steps
            steps = {s.name: steps[s.name] for s in STEPS if s.name in steps}
    report = {
        "machine": describe(),
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "steps": steps,
        "summary": summarise(latest_reports(steps)),
    }
    write_report(RESULTS / "performance.json", report, markdown(report))
    return 0 if all(s["exit_code"] == 0 for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
