"""Bulk indexing throughput (images/s), end to end, embedded vs Redis + 1 and 2 workers.

Each timed run is one `lookalike index FOLDER --no-progress` subprocess, from its start to
its return (it waits for the job): scan, decode, embed with the default pretrained
EfficientNet-Lite0, store and index, with nothing subtracted (interpreter start-up and
imports included); the job's own time (created after the scan, to finished) is reported
beside it. The images are ~0.5 MP JPEGs (quality 90) re-encoded from
caltech101-7 into a temp folder. Configurations:

- embedded: the default install, SQLite and in-process tasks, a fresh LOOKALIKE_HOME per run
  sharing one ONNX export cache (the first run exports the model, ~2 s, as a user's first
  index does; later runs reuse it);
- embedded-torch: the baseline, the same with the encoder on eager PyTorch;
- embedded-int8: the same with the opt-in INT8 encoder (`LOOKALIKE_ENCODER_RUNTIME=onnx-int8`);
- workers=1 / workers=2: Redis (a flushed db, 14 by default) and `lookalike worker`
  processes on a fresh PostgreSQL database (created for the run and dropped after; its
  tables are dropped between repeats). Workers are warmed up (model loaded in every one)
  by a small job before timing; each gets cores // workers encoder threads unless
  --threads-per-worker says otherwise.

Every configuration runs --repeats times; the table shows the median, images/s and the
ratio against embedded. Writes benchmarks/results/indexing_rate.json and .md.

    .venv/bin/python benchmarks/indexing_rate.py [--images 300] [--repeats 3] [--configs ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from PIL import Image, ImageOps
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.catalog.schema import Base  # noqa: E402
from indexer.catalog.settings import Settings  # noqa: E402
from indexer.ingest.celery_app import make_celery  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "caltech101-7"
OUT = RESULTS / "indexing_rate.json"
LOOKALIKE = Path(sys.executable).with_name("lookalike")
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_PIXELS = 800 * 600
INDEX_TIMEOUT_S = 900.0
WORKER_READY_S = 90.0
SUFFIXES = {".jpg", ".jpeg", ".png"}


def onnx_cache(tmp: Path) -> Path:
    """The encoder export cache shared by every run, as one user's machine keeps it."""
    folder = tmp / "onnx-cache"
    folder.mkdir(exist_ok=True)
    return folder


JOB_SECONDS: list[float] = []  # job_seconds of every timed run, in order
CONFIGS = ("embedded", "embedded-torch", "embedded-int8", "workers-1", "workers-2")


def make_images(count: int, folder: Path) -> list[Path]:
    """Re-encode caltech101-7 images as ~0.5 MP JPEGs (q90); later passes mirror and rescale
    slightly, so every file has distinct content even when `count` exceeds the source set."""
    sources = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in SUFFIXES)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        rounds, source = divmod(i, len(sources))
        with Image.open(sources[source]) as image:
            rgb = image.convert("RGB")
        scale = ((TARGET_PIXELS * (1 + 0.02 * rounds)) / (rgb.width * rgb.height)) ** 0.5
        size = (round(rgb.width * scale), round(rgb.height * scale))
        out = rgb.resize(size, Image.Resampling.BICUBIC)
        if rounds % 2:
            out = ImageOps.mirror(out)
        path = folder / f"img_{i:05d}.jpg"
        out.save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


def base_env() -> dict[str, str]:
    """Our environment without any LOOKALIKE_*, DATABASE_URL or REDIS_URL."""
    own = ("DATABASE_URL", "REDIS_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_") and k not in own}


def timed_index(env: dict[str, str], folder: Path, expected: int) -> float:
    """Run `lookalike index FOLDER` to completion; return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(LOOKALIKE), "index", str(folder), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=INDEX_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0 or f"added {expected}," not in result.stdout:
        raise RuntimeError(
            f"lookalike index failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    JOB_SECONDS.append(job_seconds(env))
    return seconds


def job_seconds(env: dict[str, str]) -> float:
    """The last job's own time, created (after the scan) to finished: decode, embed, store,
    index, and the model's first load; not interpreter start-up, imports or the scan."""
    engine = create_engine(Settings.from_env(env).database_url)
    try:
        with engine.connect() as connection:
            created, finished = connection.execute(
                text("SELECT created_at, finished_at FROM jobs ORDER BY id DESC LIMIT 1")
            ).one()
    finally:
        engine.dispose()
    if isinstance(created, str):  # SQLite hands back text
        created, finished = datetime.fromisoformat(created), datetime.fromisoformat(finished)
    return float((finished - created).total_seconds())


@contextmanager
def fresh_database() -> Iterator[str]:
    """A PostgreSQL database created for this run and dropped afterwards."""
    name = f"lookalike_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_tables(url: str) -> None:
    """Empty the catalog between repeats; the next `lookalike index` migrates it again."""
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@contextmanager
def worker_pool(env: dict[str, str], count: int, log_dir: Path) -> Iterator[list[Path]]:
    """`count` `lookalike worker` processes, answering pings; stopped (group-killed) after."""
    procs, logs = [], []
    try:
        for i in range(count):
            log = log_dir / f"worker-{count}-{i}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [str(LOOKALIKE), "worker", "--concurrency", "1", "-n", f"bench{i}@%h"],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            logs.append(log)
        wait_ready(env, procs, logs)
        yield logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=15)


def wait_ready(env: dict[str, str], procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    app = make_celery(Settings.from_env(env))
    deadline = time.monotonic() + WORKER_READY_S
    try:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited early:\n" + read_logs(logs))
            if len(app.control.ping(timeout=1.0, limit=len(procs))) >= len(procs):
                return
        raise RuntimeError(f"workers not ready after {WORKER_READY_S}s:\n" + read_logs(logs))
    finally:
        app.close()


def read_logs(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in logs)


def warm_up(env: dict[str, str], logs: list[Path], folder: Path, url: str) -> None:
    """Index small jobs (chunks of one) until every worker has embedded at least once."""
    for attempt in range(5):
        sub = folder / f"round{attempt}"
        make_images(4 * len(logs), sub)
        result = subprocess.run(
            [str(LOOKALIKE), "index", str(sub), "--no-progress", "--chunk-size", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=INDEX_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"warm-up failed:\n{result.stdout}\n{result.stderr}")
        drop_tables(url)
        counts = [log.read_text(errors="replace").count("lookalike.embed_images[") for log in logs]
        if all(counts):
            return
    raise RuntimeError("some worker never received a warm-up task:\n" + read_logs(logs))


def run_embedded(
    folder: Path, count: int, repeats: int, tmp: Path, name: str, extra: dict[str, str]
) -> list[float]:
    times = []
    for r in range(repeats):
        home = tmp / f"home-{name}-{r}"
        home.mkdir(parents=True)
        (home / "onnx").symlink_to(onnx_cache(tmp), target_is_directory=True)
        env = base_env() | extra | {"LOOKALIKE_HOME": str(home)}
        times.append(timed_index(env, folder, count))
        print(f"  {name} run {r + 1}: {times[-1]:.1f} s", file=sys.stderr)
    return times


def run_workers(
    folder: Path, count: int, repeats: int, tmp: Path, *, workers: int, redis_url: str, threads: int
) -> list[float]:
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    times = []
    try:
        with fresh_database() as url:
            env = base_env() | {
                "REDIS_URL": redis_url,
                "DATABASE_URL": url,
                "LOOKALIKE_HOME": str(tmp / f"home-workers-{workers}"),
            }
            worker_env = env | {
                "OMP_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads),
                "LOOKALIKE_TORCH_THREADS": str(threads),  # the encoder's (ONNX or torch)
            }
            with worker_pool(worker_env, workers, tmp) as logs:
                warm_up(env, logs, tmp / f"warm-{workers}", url)
                for r in range(repeats):
                    broker.flushdb()
                    times.append(timed_index(env, folder, count))
                    print(f"  workers={workers} run {r + 1}: {times[-1]:.1f} s", file=sys.stderr)
                    drop_tables(url)
    finally:
        broker.flushdb()
        broker.close()
    return times


def summarise(name: str, times: list[float], count: int, base: float | None) -> dict[str, Any]:
    """Median seconds and images/s of a configuration, and its ratio to (a) when there."""
    median = statistics.median(times)
    rate = count / median
    jobs = JOB_SECONDS[-len(times) :]
    return {
        "config": name,
        "seconds": times,
        "median_s": median,
        "images_per_s": rate,
        "job_seconds": jobs,
        "job_images_per_s": count / statistics.median(jobs),
        "ratio_vs_embedded": None if base is None else rate / base,
    }


def table(rows: list[dict[str, Any]], count: int) -> str:
    lines = [
        f"| configuration ({count} images) | threads | runs (s) | median s | images/s "
        "| job only: images/s | vs (a) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        runs = ", ".join(f"{s:.1f}" for s in row["seconds"])
        ratio = row["ratio_vs_embedded"]
        lines.append(
            f"| {row['config']} | {row['threads']} | {runs} | {row['median_s']:.1f} | "
            f"{row['images_per_s']:.2f} | {row['job_images_per_s']:.2f} | "
            f"{'1.00' if ratio is None else f'{ratio:.2f}'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300, help="JPEGs to index per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=14, help="flushed before and after")
    parser.add_argument(
        "--threads-per-worker", type=int, default=0, help="OMP_NUM_THREADS (0: cores // workers)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="subset of " + str(CONFIGS))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="indexing-rate-") as name:
        tmp = Path(name)
        print(f"writing {args.images} JPEGs ...", file=sys.stderr)
        folder = tmp / "catalog"
        make_images(args.images, folder)
        configs = args.configs.split(",")
        if "embedded" in configs:
            times = run_embedded(folder, args.images, args.repeats, tmp, "embedded", {})
            rows.append(summarise("(a) embedded, SQLite, in-process", times, args.images, None))
            rows[-1]["threads"] = f"encoder default ({cores})"
        base = rows[0]["images_per_s"] if rows else None
        if "embedded-torch" in configs:  # the baseline: the same pipeline on eager PyTorch
            torch_env = {"LOOKALIKE_ENCODER_RUNTIME": "torch"}
            times = run_embedded(folder, args.images, args.repeats, tmp, "torch", torch_env)
            rows.append(summarise("(base) embedded, PyTorch encoder", times, args.images, base))
            rows[-1]["threads"] = f"torch default ({cores})"
        if "embedded-int8" in configs:  # the opt-in INT8 encoder
            int8_env = {"LOOKALIKE_ENCODER_RUNTIME": "onnx-int8"}
            times = run_embedded(folder, args.images, args.repeats, tmp, "int8", int8_env)
            rows.append(summarise("(int8) embedded, INT8 encoder", times, args.images, base))
            rows[-1]["threads"] = f"encoder default ({cores})"
        for workers in (1, 2):
            if f"workers-{workers}" not in configs:
                continue
            threads = args.threads_per_worker or max(1, cores // workers)
            times = run_workers(
                folder,
                args.images,
                args.repeats,
                tmp,
                workers=workers,
                redis_url=redis_url,
                threads=threads,
            )
            label = f"({'bc'[workers - 1]}) Redis + {workers} worker(s), PostgreSQL"
            rows.append(summarise(label, times, args.images, base))
            rows[-1]["threads"] = f"{threads} encoder thread(s) per worker"
    payload = {
        "images": args.images,
        "repeats": args.repeats,
        "image_pixels": TARGET_PIXELS,
        "jpeg_quality": 90,
        "cores": cores,
        "machine": platform.platform(),
        "command": " ".join(["benchmarks/indexing_rate.py", *sys.argv[1:]]),
        "results": rows,
    }
    write_report(args.out, payload, table(rows, args.images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
