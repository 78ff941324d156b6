"""Time and peak memory of one decode of each worst-case file, as a search decodes a query.

Each file is decoded in a fresh Python process (`--one`), so its peak resident memory
(the kernel's high-water mark `VmHWM` after decoding minus before; `ru_maxrss` would carry
the parent's peak across exec) belongs to that decode alone. Run it on two
checkouts to compare, e.g. before and after the decode budget:

    python benchmarks/decode_budget.py                      # this checkout
    python benchmarks/decode_budget.py --code /tmp/before   # another checkout's indexer/
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_PIXELS = 64_000_000  # the default LOOKALIKE_MAX_PIXELS
DRAFT = 224  # the default model's input side: what a search decodes for


def cases() -> dict[str, bytes]:
    """The worst files of issue 13 and an ordinary photo for scale."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from tests.conftest import make_image
    from tests.hostile import float_tiff_with_nan, gif_bomb, many_scan_jpeg

    photo = io.BytesIO()
    make_image(1, (4000, 3000)).save(photo, "JPEG", quality=90)
    png = io.BytesIO()
    make_image(2, (4000, 3000)).convert("P", palette=Image.Palette.ADAPTIVE).save(png, "PNG")
    return {
        "photo 4000x3000 JPEG (reference)": photo.getvalue(),
        "palette PNG 4000x3000 (reference)": png.getvalue(),
        "GIF declaring 8000x7000": gif_bomb(),
        "progressive JPEG, 2,000 scans, 7900x7900": many_scan_jpeg(2000, side=7900),
        "float TIFF with one NaN pixel": float_tiff_with_nan(),
    }


def decode_one(path: Path) -> dict[str, Any]:
    """Decode one file here; report seconds, CPU seconds, peak memory growth and outcome."""
    from indexer.catalog.errors import ImageError
    from indexer.encoder.decode import decode_image

    data = path.read_bytes()
    before = _peak_kb()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        image = decode_image(data, max_pixels=MAX_PIXELS, draft_size=DRAFT)
        grey = image.convert("L").getextrema()
        outcome = f"decoded {image.size[0]}x{image.size[1]}, grey range {grey}"
    except ImageError as exc:
        outcome = f"{exc.status} {exc.code}"
    return {
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "peak_mb": (_peak_kb() - before) / 1024,
        "outcome": outcome,
    }


def _peak_kb() -> int:
    """This process's peak resident memory so far, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(code: Path) -> dict[str, Any]:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in cases().items():
            path = Path(folder) / "input"
            path.write_bytes(data)
            env = os.environ | {"PYTHONPATH": str(code)}
            command = [sys.executable, str(Path(__file__).resolve()), "--one", str(path)]
            out = subprocess.run(command, env=env, cwd=code, capture_output=True, text=True)
            if out.returncode:
                results[name] = {"bytes": len(data), "outcome": f"crashed: {out.stderr[-300:]}"}
                continue
            results[name] = {"bytes": len(data)} | json.loads(out.stdout)
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        f"decode of one file as a search decodes it (draft {DRAFT}, max pixels {MAX_PIXELS:,})",
        "",
        "| file | bytes | seconds | CPU seconds | peak MB | outcome |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        if "seconds" not in r:
            lines.append(f"| {name} | {r['bytes']:,} | — | — | — | {r['outcome']} |")
            continue
        lines.append(
            f"| {name} | {r['bytes']:,} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | "
            f"{r['peak_mb']:.0f} | {r['outcome']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose indexer/ decodes")
    parser.add_argument("--out", type=Path, help="also write JSON here (and .md beside it)")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(decode_one(args.one)))
        return
    results = measure(args.code.resolve())
    report = table(results)
    print(report)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(report + "\n")


if __name__ == "__main__":
    main()
