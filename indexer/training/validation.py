"""Validation: embed a held-out set (no augmentation) and score retrieval on it.

A labelled set is scored by leave-one-out retrieval among its own images. An unlabelled set
(self-supervised mode) is scored on two fixed augmented views of each image: every view
should retrieve its twin.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from indexer.catalog.errors import ConfigError
from indexer.catalog.types import Embeddings
from indexer.encoder.calibration import Calibration
from indexer.encoder.model import SiameseEncoder
from indexer.encoder.preprocess import to_tensor
from indexer.training.augment import Augment
from indexer.training.data import LabelledSet
from indexer.training.embedding_calibration import calibrate_embeddings
from indexer.training.retrieval_metrics import (
    paired_similarities,
    retrieval_metrics,
    verification_metrics,
)
from indexer.training.verification_pairs import Pairs, forgery_pairs, writer_of
from indexer.training.win_confidence import WinConfidence, win_confidence

VIEW_SEED = 12345


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA; nothing on CPU (full precision)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def embed_tensors(
    encoder: SiameseEncoder, images: torch.Tensor, batch_size: int = 64
) -> Embeddings:
    """Embed preprocessed images (N, C, S, S) in eval mode; returns float32 (N, D)."""
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    chunks = []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(images), batch_size):
            chunks.append(encoder(images[start : start + batch_size].to(device)).float().cpu())
    encoder.train(was_training)
    return torch.cat(chunks).numpy().astype(np.float32)  # (N, D)


def validation_inputs(
    data: LabelledSet, encoder: SiameseEncoder, augment: Augment
) -> tuple[torch.Tensor, np.ndarray]:
    """The fixed validation images (N, C, S, S) and labels (N,); two views each if unlabelled."""
    config = encoder.config
    if data.supervised:
        images = torch.stack([to_tensor(im, config) for im in data.images])
        return images, data.labels
    generator = torch.Generator().manual_seed(VIEW_SEED)
    views = [to_tensor(augment(im, generator), config) for im in data.images for _ in range(2)]
    return torch.stack(views), np.repeat(data.labels, 2)


class Validator:
    """Scores an encoder on one validation set; the inputs are prepared once."""

    def __init__(
        self,
        data: LabelledSet,
        encoder: SiameseEncoder,
        augment: Augment,
        distance: str,
        *,
        forgery_suffix: str | None = None,
    ) -> None:
        self.images, self.labels = validation_inputs(data, encoder, augment)
        self.distance = distance
        self.forgeries = _forgery_pairs(data, forgery_suffix)
        by_writer = self.forgeries is not None
        self.unit_name = "writers" if by_writer else "labels"
        self.units = (  # what a bootstrap of a verdict resamples, one per input
            np.asarray([writer_of(data.label_names[c], forgery_suffix) for c in self.labels])
            if by_writer
            else self.labels
        )

    def embed(self, encoder: SiameseEncoder) -> Embeddings:
        return embed_tensors(encoder, self.images)

    def metrics(self, encoder: SiameseEncoder) -> dict[str, float]:
        """Recall@1/5/10 and mAP@R of the current encoder; with forgeries in the validation
        labels also the ROC AUC and EER of every genuine-genuine vs genuine-forgery pair."""
        return self.scores(self.embed(encoder))

    def confidence(
        self, trained: Embeddings, reference: Embeddings, metric: str
    ) -> WinConfidence | None:
        """How sure the win of `trained` over `reference` embeddings of these inputs is."""
        return win_confidence(
            trained,
            reference,
            self.labels,
            self.units,
            metric=metric,
            distance=self.distance,
            pairs=self.forgeries,
            unit_name=self.unit_name,
        )

    def scores(self, embeddings: Embeddings) -> dict[str, float]:
        """`metrics` of embeddings of these inputs."""
        metrics = retrieval_metrics(embeddings, self.labels, distance=self.distance)
        if self.forgeries is not None:
            pairs = self.forgeries
            sims = paired_similarities(
                embeddings, pairs.first, pairs.second, distance=self.distance
            )
            verification = verification_metrics(sims, pairs.same)
            metrics |= {"forgery_auc": verification["roc_auc"], "forgery_eer": verification["eer"]}
        return metrics

    def calibrations(self, embeddings: Embeddings) -> dict[str, Calibration]:
        """Thresholds for every distance, measured on the validation pairs of `embeddings` of
        these inputs."""
        return calibrate_embeddings(embeddings, self.labels)


def _forgery_pairs(data: LabelledSet, suffix: str | None) -> Pairs | None:
    """Every genuine-genuine and genuine-forgery pair of the validation writers, or None."""
    if suffix is None or not data.supervised:
        return None
    try:
        return forgery_pairs([data.label_names[i] for i in data.labels], suffix=suffix)
    except ConfigError:  # no writer here has both two genuine items and forgeries
        return None
