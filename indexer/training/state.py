"""The resumable training state, written atomically after every epoch.

It holds the model, optimiser and scheduler states, the epoch reached, the best validation
metric (and the weights that reached it), the history and every RNG state, so a resumed run
continues exactly where the saved one stopped. It is not a model checkpoint: the final
model is written by `indexer.encoder.checkpoint.save_checkpoint`.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from indexer.catalog.errors import ModelError

FORMAT = "lookalike-train-state/1"


@dataclass
class Progress:
    """Where a run stands: epochs done, best metric so far and epochs without improvement."""

    epoch: int = 0
    best_metric: float = float("-inf")
    bad_epochs: int = 0
    baseline: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy's global RNG (PML's samplers use it) and random; return the
    generator the augmentations draw from."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every RNG state as tensors and plain values (loadable with weights_only=True)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
        "augment": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(_as_tuple(state["python"]))
    generator.set_state(state["augment"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


def save_state(path: Path, payload: dict[str, Any]) -> None:
    """Write the training state to `path` atomically (temp file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"format": FORMAT, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_state(path: Path) -> dict[str, Any]:
    """Read a training state written by `save_state`."""
    if not path.is_file():
        raise ModelError(f"training state not found: {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path} is not a Lookalike training state (use the .state.pt file)")
    return payload


def state_path(out: Path) -> Path:
    """Where the resumable state of a run writing `out` lives: `model.pt` -> `model.state.pt`."""
    return out.with_name(out.stem + ".state.pt")
