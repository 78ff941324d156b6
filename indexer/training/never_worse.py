"""Never worse than not training: the trained model against the models it would replace.

Two references, both scored on the same held-out validation images as the trained model:
the starting model (the trainer's baseline: pretrained backbone + untrained head, or a
random small CNN) and the off-the-shelf default model the product serves untrained
(EfficientNet-Lite0 pooled features at 224 px). The default model is slow on a CPU, so it
scores a sample sized to `DEFAULT_SHARE` of the budget (many labels, a few images each),
and the trained model is scored again on that same sample. `beats_baseline` is true only when the
trained model is better than both (equal is not better) and each win is clear by a paired
bootstrap over the validation labels (`indexer.training.win_confidence`): a gain that a
redraw of the same few labels could undo is not claimed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from indexer.encoder.checkpoint import DEFAULT_VERSION, default_model
from indexer.encoder.model import SiameseEncoder
from indexer.training.augment import Augment, AugmentConfig
from indexer.training.data import LabelledSet
from indexer.training.validation import Validator, embed_tensors, validation_inputs
from indexer.training.verification_pairs import writer_of
from indexer.training.win_confidence import WinConfidence

if TYPE_CHECKING:
    from indexer.training.trainer import Trainer

logger = logging.getLogger(__name__)
METRIC = "map@r"
MAX_IMAGES = 500
MIN_IMAGES = 20
DEFAULT_SHARE = 0.1  # of the budget, at most, for scoring the default model
PROBE = 8  # images timed to size the sample


@dataclass(frozen=True)
class Reference:
    """The off-the-shelf model's metrics on `sample` (validation, or whole labels of it)."""

    sample: LabelledSet
    metrics: dict[str, float]
    sampled: bool
    version: str = DEFAULT_VERSION
    forgery_suffix: str | None = None
    embeddings: np.ndarray | None = None  # the default model's, of `sample`

    def compare(
        self, encoder: SiameseEncoder, augment: Augment, distance: str, metric: str
    ) -> tuple[dict[str, float], WinConfidence | None]:
        """Another model's metrics on the same images, and how sure its win over this is."""
        validator = Validator(
            self.sample, encoder, augment, distance, forgery_suffix=self.forgery_suffix
        )
        trained = validator.embed(encoder)
        confidence = None
        if self.embeddings is not None:
            confidence = validator.confidence(trained, self.embeddings, metric)
        return validator.scores(trained), confidence


def score_default_model(
    val_set: LabelledSet,
    distance: str,
    *,
    device: torch.device,
    budget_s: float | None,
    forgery_suffix: str | None = None,
) -> tuple[Reference | None, str]:
    """The default model on the validation labels (a sample when slow); None and why not."""
    if not val_set.supervised or len(val_set) < 2:
        return None, "no labelled validation set: compared with the starting model only"
    model = default_model()
    encoder = model.encoder.to(device)
    augment = Augment(AugmentConfig())
    probe = val_set.subset(range(min(PROBE, len(val_set))))
    start = time.monotonic()
    embed_tensors(encoder, validation_inputs(probe, encoder, augment)[0])
    per_image = (time.monotonic() - start) / len(probe)
    cap = MAX_IMAGES
    if budget_s is not None:
        cap = min(cap, int(DEFAULT_SHARE * budget_s / max(per_image, 1e-6)))
    if cap < MIN_IMAGES:
        return None, f"the default model needs {per_image:.2f} s an image here: not scored"
    sample = _spread_sample(val_set, cap, forgery_suffix)
    validator = Validator(sample, encoder, augment, distance, forgery_suffix=forgery_suffix)
    embeddings = validator.embed(encoder)
    metrics = validator.scores(embeddings)
    sampled = len(sample) < len(val_set)
    note = f"{len(sample)} of {len(val_set)} validation images, {sample.num_labels} labels"
    note += " (sampled)" if sampled else ""
    reference = Reference(sample, metrics, sampled, model.version, forgery_suffix, embeddings)
    return reference, note


def _spread_sample(data: LabelledSet, cap: int, forgery_suffix: str | None = None) -> LabelledSet:
    """All of `data` when it fits `cap`; else as many labels as fit with K images each.

    K = cap // labels (at least 2), so the sample keeps many distractor labels, as the
    whole validation set has; labels and images are drawn in a fixed random order. With
    forgeries, a writer's genuine and forged labels are drawn together.
    """
    if len(data) <= cap:
        return data
    rng = np.random.default_rng(0)
    keys = np.asarray([writer_of(data.label_names[c], forgery_suffix) for c in data.labels])
    writers = rng.permutation(np.unique(keys))
    per_label = max(2, cap // data.num_labels)
    keep: list[int] = []
    for writer in writers:
        for label in np.unique(data.labels[keys == writer]):
            members = rng.permutation(np.flatnonzero(data.labels == label))
            keep.extend(members[:per_label].tolist())
        if len(keep) >= cap:
            break
    return data.subset(sorted(keep))


def verdict(
    trained: dict[str, float],
    starting: dict[str, float],
    *,
    reference: Reference | None = None,
    trained_on_sample: dict[str, float] | None = None,
    note: str = "",
    validation_labels: int = 0,
    metric: str = METRIC,
    starting_confidence: WinConfidence | None = None,
    default_confidence: WinConfidence | None = None,
) -> dict[str, Any]:
    """Whether the trained model beat the starting and the default model on `metric`
    (higher is better: mAP@R, or genuine-vs-forgery ROC AUC), and clearly (the bootstraps
    `starting_confidence`, `default_confidence`; not measured: None)."""
    t, s = trained.get(metric, float("nan")), starting.get(metric, float("nan"))
    out: dict[str, Any] = {
        "metric": metric,
        "validation_labels": validation_labels,
        "trained": t,
        "starting_model": s,
        "beats_starting_model": bool(t > s),
        "starting_confidence": _as_dict(starting_confidence),
        "default_model": None,
        "beats_default_model": None,
        "default_confidence": None,
        "default_model_note": note,
    }
    if reference is not None and trained_on_sample is not None:
        d, ts = reference.metrics.get(metric, float("nan")), trained_on_sample.get(metric, 0.0)
        out |= {
            "default_model": d,
            "default_model_version": reference.version,
            "trained_on_default_sample": ts,
            "default_sample_images": len(reference.sample),
            "default_sample_labels": reference.sample.num_labels,
            "default_sampled": reference.sampled,
            "beats_default_model": bool(ts > d),
            "default_confidence": _as_dict(default_confidence),
        }
    unclear = [
        c for c in (starting_confidence, default_confidence) if c is not None and not c.clear
    ]
    out["clear_win"] = not unclear
    out["beats_baseline"] = (
        out["beats_starting_model"] and out["beats_default_model"] is not False and not unclear
    )
    return out


def _as_dict(confidence: WinConfidence | None) -> dict[str, Any] | None:
    return None if confidence is None else confidence.to_dict()


def judge(
    trainer: Trainer, metrics: dict[str, float], embeddings: np.ndarray | None = None
) -> dict[str, Any]:
    """The verdict on a trainer's current weights, whose validation `metrics` (and validation
    `embeddings`, for the bootstraps) are given."""
    reference, on_sample, default_confidence = trainer.reference, None, None
    metric, validator = trainer.metric, trainer.validator
    if reference is not None:
        on_sample = metrics
        if reference.sampled:
            on_sample, default_confidence = reference.compare(
                trainer.encoder, trainer.augment, trainer.config.distance, metric
            )
        elif embeddings is not None and reference.embeddings is not None:
            default_confidence = validator.confidence(embeddings, reference.embeddings, metric)
    starting = trainer.baseline_embeddings
    starting_confidence = None
    if embeddings is not None and starting is not None:
        starting_confidence = validator.confidence(embeddings, starting, metric)
    return verdict(
        metrics,
        trainer.progress.baseline,
        reference=reference,
        trained_on_sample=on_sample,
        note=trainer.reference_note,
        validation_labels=trainer.val_labels,
        metric=metric,
        starting_confidence=starting_confidence,
        default_confidence=default_confidence,
    )
