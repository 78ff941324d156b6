"""Training batches: P labels x K images from PML's MPerClassSampler, each image augmented.

In self-supervised mode every image is its own label, so the K images of a label are K
independently augmented views of one image. The sampler draws from numpy's global RNG
(PML's convention), which the trainer seeds and checkpoints.

With a `Distortion` (line art) the images are resized once into one (N, C, S, S) tensor and
each batch is distorted in batched torch ops (`tensor_augment`) instead of per-image PIL.
With `rotations` R > 1 each training label becomes R labels, one per quarter turn (Snell et
al. 2017): item i * R + r is image i turned r times, labelled label * R + r.
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
from indexer.training.tensor_augment import Distortion, distort, quarter_turns

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
        distortion: Distortion | None = None,
        rotations: int = 1,
    ) -> None:
        if rotations not in (1, 2, 4):
            raise ValueError(f"rotations must be 1, 2 or 4, got {rotations}")
        if rotations > 1 and distortion is None:
            raise ValueError("rotations as classes need the tensor path (a Distortion)")
        labels_available = data.num_labels * rotations
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
        self.distortion = distortion
        self.rotations = rotations
        self.item_labels = rotation_labels(data.labels, rotations)  # (N * R,)
        self.cache = self._cache() if distortion is not None else None  # (N, C, S, S)

    def _cache(self) -> torch.Tensor:
        """Every training image resized and normalised once: (N, C, S, S) float32."""
        tensors = [to_tensor(image, self.encoder_config) for image in self.data.images]
        return torch.stack(tensors)

    def sampler(self) -> MPerClassSampler:
        """A fresh sampler: it shuffles its label list in place, so reusing one across epochs
        would make an epoch depend on the previous ones and not only on the RNG state."""
        return MPerClassSampler(
            self.item_labels,
            self.per_label,
            batch_size=self.batch_size,
            length_before_new_iter=self.steps * self.batch_size,
        )

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of augmented batches; the augmentations draw from `generator`."""
        order = np.fromiter(iter(self.sampler()), dtype=np.int64)  # (steps * B,)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.images(idx, generator), torch.from_numpy(self.item_labels[idx])

    def images(self, indices: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """Augmented, normalised views of the training items at `indices`: (len, C, S, S)."""
        if self.cache is None:
            return self.images_of([self.data.images[i] for i in indices], generator)
        assert self.distortion is not None
        source = torch.from_numpy(indices // self.rotations)
        turns = torch.from_numpy(indices % self.rotations)
        views = quarter_turns(self.cache[source], turns * (4 // self.rotations))
        return distort(views, self.distortion, generator)

    def images_of(self, images: list[Image.Image], generator: torch.Generator) -> torch.Tensor:
        """One augmented, normalised view of each image: (len, C, S, S)."""
        if self.distortion is not None:
            plain = torch.stack([to_tensor(image, self.encoder_config) for image in images])
            return distort(plain, self.distortion, generator)
        views = [self.augment(image, generator) for image in images]
        return torch.stack([to_tensor(v, self.encoder_config) for v in views])


def rotation_labels(labels: np.ndarray, rotations: int) -> np.ndarray:
    """Labels of the N * R items: item i * R + r has label labels[i] * R + r; (N * R,)."""
    turns = np.tile(np.arange(rotations, dtype=np.int64), len(labels))
    return np.repeat(labels.astype(np.int64), rotations) * rotations + turns
