"""What the benchmarks ran on: CPU, cores, memory, GPU and library versions."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from indexer.encoder.onnx_encoder import usable_cores

PACKAGES = ("torch", "onnxruntime", "faiss-cpu", "faiss-gpu", "pillow", "numpy", "flask")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as handle:
            total_kb = int(handle.readline().split()[1])
        return round(total_kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def gpu() -> str | None:
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except ImportError:
        pass
    return None


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe() -> dict[str, Any]:
    """A dict for the JSON report, with a one-line `summary` for the markdown."""
    cores = usable_cores()
    info = {
        "cpu": cpu_model(),
        "cores": cores,
        "memory_gib": memory_gib(),
        "gpu": gpu(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions(),
    }
    accelerator = info["gpu"] or "no GPU"
    info["summary"] = (
        f"{info['cpu']}, {cores} cores, {info['memory_gib']} GiB, {accelerator}; "
        + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    )
    return info
