"""Training and evaluating the Siamese encoder: data, augmentation, losses and miners,
the training loop, retrieval and verification metrics, calibration and reports.

Importing the package loads nothing heavy (`lookalike train --help` reads TrainConfig); the
names below are imported, with PyTorch, on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.encoder.calibration import Calibration, calibrate, calibration_of
    from indexer.training.config import TrainConfig
    from indexer.training.evaluate import EvaluationResult, evaluate_folder
    from indexer.training.retrieval_metrics import retrieval_metrics, verification_metrics

_HOMES = {
    "Calibration": "indexer.encoder.calibration",
    "calibrate": "indexer.encoder.calibration",
    "calibration_of": "indexer.encoder.calibration",
    "TrainConfig": "indexer.training.config",
    "EvaluationResult": "indexer.training.evaluate",
    "evaluate_folder": "indexer.training.evaluate",
    "retrieval_metrics": "indexer.training.retrieval_metrics",
    "verification_metrics": "indexer.training.retrieval_metrics",
}

__all__ = [
    "Calibration",
    "EvaluationResult",
    "TrainConfig",
    "calibrate",
    "calibration_of",
    "evaluate_folder",
    "retrieval_metrics",
    "verification_metrics",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
