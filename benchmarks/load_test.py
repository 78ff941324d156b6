"""Bounded load test of the search API under gunicorn on loopback, and a memory soak.

Indexes a catalog (default: the bundled demo catalog) with the default model, starts
gunicorn as production runs it (`web.wsgi:app`, gthread workers), then for each concurrency
level keeps that many clients posting `POST /api/v1/search` (k=10, a catalog image each
time) for a fixed time: p50/p99 latency, requests/s and error rate. Each encoder runtime in
`--runtimes` gets its own server and run: ONNX Runtime (the product's CPU default) and eager
PyTorch (the baseline). `--soak-s` then holds one concurrency level for that long on the
first runtime and samples the resident memory of the gunicorn processes. Writes
benchmarks/results/load.json and .md.

    .venv/bin/python benchmarks/load_test.py [--levels 1,2,4,8,16] [--seconds 20] [--soak-s 600]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402

BIN = Path(sys.executable).parent
DEMO = ROOT / "indexer" / "demo_catalog"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="k"\r\n\r\n10\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.png"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_search(url: str, body: bytes, content_type: str) -> tuple[float, bool]:
    """One request: (seconds, ok)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            ok = response.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    return time.perf_counter() - started, ok


def run_level(url: str, bodies: list[tuple[bytes, str]], clients: int, seconds: float) -> dict:
    """`clients` threads posting back to back for `seconds`."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < stop:
            spent, ok = post_search(url, *bodies[i % len(bodies)])
            i += clients
            with lock:
                latencies.append(spent)
                errors += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "error_rate": errors / max(len(latencies), 1),
    }


def rss_mb(root: psutil.Process) -> float:
    processes = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 1e6


def soak(url: str, bodies: list, clients: int, seconds: float, server: psutil.Process) -> dict:
    """Hold `clients` for `seconds`, sampling the gunicorn processes' memory every 10 s."""
    samples: list[tuple[float, float]] = []
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(run_level(url, bodies, clients, seconds))
    )
    started = time.monotonic()
    worker.start()
    while worker.is_alive():
        samples.append((time.monotonic() - started, rss_mb(server)))
        worker.join(timeout=10)
    first_minute = [m for t, m in samples if t <= 60] or [samples[0][1]]
    last_minute = [m for t, m in samples if t >= samples[-1][0] - 60]
    return result | {
        "seconds": seconds,
        "rss_mb_first_minute": statistics.median(first_minute),
        "rss_mb_last_minute": statistics.median(last_minute),
        "rss_mb_max": max(m for _, m in samples),
        "samples": samples,
    }


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--threads", str(threads), "--timeout", "60", "--log-level", "warning", "web.wsgi:app",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as r:
                if json.loads(r.read())["ok"]:
                    return server
        except (urllib.error.URLError, OSError, KeyError):
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not become healthy")


def measure(args: argparse.Namespace, runtime: str) -> dict[str, Any]:
    """Index the catalog, serve it with the encoder on `runtime`, and load every level."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")} | {
            "LOOKALIKE_HOME": home,
            "LOOKALIKE_DEVICE": "cpu",
            "LOOKALIKE_ENCODER_RUNTIME": runtime,
            "LOOKALIKE_RATE_LIMIT": "0",  # measure the server, not the limiter
            "LOOKALIKE_TORCH_THREADS": "1",  # one encoder thread per request thread
        }
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        subprocess.run([str(BIN / "lookalike"), "index", str(args.catalog), "--no-progress"],
                       env=env, check=True)  # fmt: skip
        files = sorted(p for p in args.catalog.rglob("*.png"))[:64]
        bodies = [multipart(p.read_bytes()) for p in files]
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        url = f"http://127.0.0.1:{port}/api/v1/search"
        try:
            run_level(url, bodies, 2, 3.0)  # warm-up: load models in every worker
            levels = [run_level(url, bodies, int(c), args.seconds) for c in args.levels.split(",")]
            for level in levels:
                print(json.dumps({"runtime": runtime} | level), file=sys.stderr)
            result: dict[str, Any] = {"levels": levels}
            if args.soak_s:
                result["soak"] = soak(
                    url, bodies, args.soak_clients, args.soak_s, psutil.Process(server.pid)
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, default=DEMO)
    parser.add_argument("--levels", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--soak-s", type=float, default=0.0, help="memory soak duration")
    parser.add_argument("--soak-clients", type=int, default=4)
    parser.add_argument(
        "--runtimes", default="onnx,torch", help="encoder runtimes, the first is the product's"
    )
    args = parser.parse_args()
    report: dict[str, Any] = {
        "server": f"gunicorn {args.workers} workers x {args.threads} threads",
        "catalog_images": len(list(args.catalog.rglob("*.png"))),
        "runtimes": {},
    }
    for runtime in args.runtimes.split(","):
        report["runtimes"][runtime] = measure(args, runtime)
    first = report["runtimes"][args.runtimes.split(",")[0]]
    report["levels"] = first["levels"]
    if "soak" in first:
        report["soak"] = first["soak"]
    write_report(RESULTS / "load.json", report, markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['server']}, {report['catalog_images']} catalog images, "
        "`POST /api/v1/search` k=10",
        "",
        "| encoder | clients | requests | requests/s | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for runtime, result in report["runtimes"].items():
        for r in result["levels"]:
            lines.append(
                f"| {runtime} | {r['clients']} | {r['requests']} | {r['requests_per_s']:.1f} | "
                f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['error_rate']:.2%} |"
            )
    if "soak" in report:
        s = report["soak"]
        lines += [
            "",
            f"Soak: {s['clients']} clients for {s['seconds']:.0f} s, {s['requests']} requests, "
            f"errors {s['error_rate']:.2%}, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms; "
            "gunicorn RSS (all processes), median of the first minute "
            f"{s['rss_mb_first_minute']:.0f} MB, of the last minute "
            f"{s['rss_mb_last_minute']:.0f} MB, max {s['rss_mb_max']:.0f} MB.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
