"""Training and evaluating the Siamese encoder: data, augmentation, losses and miners,
the training loop, retrieval and verification metrics, calibration and reports."""

from indexer.encoder.calibration import Calibration, calibrate, calibration_of
from indexer.training.config import TrainConfig
from indexer.training.evaluate import EvaluationResult, evaluate_folder
from indexer.training.retrieval_metrics import retrieval_metrics, verification_metrics

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
