"""Training batches: P labels x K images from PML's MPerClassSampler, each image augmented.

In self-supervised mode every image is its own label, so the K images of a label are K
independently augmented views of one image. The sampler draws from numpy's global RNG
(PML's convention), which the trainer seeds and checkpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import torch
from PIL import Image
from pytorch_metric_learning.samplers import MPerClassSampler

from indexer.encoder.model import EncoderConfig
from indexer.encoder.preprocess import to_tensor
from indexer.training.augment import Augment
from indexer.training.data import LabelledSet

logger = logging.getLogger(__name__)


class BatchMaker:
    """Yields `steps` batches per epoch: images (B, C, S, S) and labels (B,) int64."""

    def __init__(
        self,
        data: LabelledSet,
        augment: Augment,
        encoder_config: EncoderConfig,
        *,
        batch_labels: int,
        per_label: int,
        steps: int,
    ) -> None:
        labels_available = data.num_labels
        if labels_available < 2:
            raise ValueError("training needs at least two labels (or two images unlabelled)")
        if batch_labels > labels_available:
            logger.warning("only %d labels: batches use %d labels", *(labels_available,) * 2)
            batch_labels = labels_available
        self.data = data
        self.augment = augment
        self.encoder_config = encoder_config
        self.batch_size = batch_labels * per_label
        self.per_label = per_label
        self.steps = steps

    def sampler(self) -> MPerClassSampler:
        """A fresh sampler: it shuffles its label list in place, so reusing one across epochs
        would make an epoch depend on the previous ones and not only on the RNG state."""
        return MPerClassSampler(
            self.data.labels,
            self.per_label,
            batch_size=self.batch_size,
            length_before_new_iter=self.steps * self.batch_size,
        )

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of augmented batches; the augmentations draw from `generator`."""
        order = np.fromiter(iter(self.sampler()), dtype=np.int64)  # (steps * B,)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.images(idx, generator), torch.from_numpy(self.data.labels[idx])

    def images(self, indices: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """Augmented, normalised views of the training images at `indices`: (len, C, S, S)."""
        return self.images_of([self.data.images[i] for i in indices], generator)

    def images_of(self, images: list[Image.Image], generator: torch.Generator) -> torch.Tensor:
        """One augmented, normalised view of each image: (len, C, S, S)."""
        views = [self.augment(image, generator) for image in images]
        return torch.stack([to_tensor(v, self.encoder_config) for v in views])
