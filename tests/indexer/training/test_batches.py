"""Cached-tensor batches: rotated copies are new labels derived only from training labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from indexer.encoder.model import EncoderConfig
from indexer.training.augment import Augment, AugmentConfig
from indexer.training.batches import BatchMaker, rotation_labels
from indexer.training.config import TrainConfig
from indexer.training.data import LabelledSet, split_by_label
from indexer.training.tensor_augment import Distortion


def line_art(labels: list[int]) -> LabelledSet:
    images = []
    for i, label in enumerate(labels):
        pixels = np.full((40, 40), 255, np.uint8)
        pixels[5 + label : 15 + label, 8 + i % 3 : 30] = 0
        images.append(Image.fromarray(pixels, "L"))
    names = tuple(f"A/char{k}" for k in sorted(set(labels)))
    return LabelledSet(
        Path("."),
        tuple(f"{i}.png" for i in range(len(labels))),
        np.asarray(labels, dtype=np.int64),
        names,
        tuple(images),
    )


def maker(data: LabelledSet, rotations: int) -> BatchMaker:
    config = EncoderConfig(backbone="small_cnn", input_size=16, grayscale=True, pretrained=False)
    return BatchMaker(
        data,
        Augment(AugmentConfig(size=16, grayscale=True, flip=False)),
        config,
        batch_labels=4,
        per_label=2,
        steps=3,
        distortion=Distortion(),
        rotations=rotations,
    )


def test_rotation_labels_are_label_times_r_plus_turn() -> None:
    out = rotation_labels(np.array([0, 0, 2]), 4)
    assert out.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 8, 9, 10, 11]
    assert np.array_equal(out // 4, np.repeat([0, 0, 2], 4))  # each maps back to its label


def test_rotated_classes_stay_label_disjoint_from_validation() -> None:
    data = line_art([k for k in range(8) for _ in range(3)])
    train, val = split_by_label(data, 0.25, seed=0)
    batches = maker(train, 4)
    assert len(np.unique(batches.item_labels)) == 4 * train.num_labels
    origins = set((batches.item_labels // 4).tolist())
    assert origins == set(train.labels.tolist())
    assert origins.isdisjoint(val.labels.tolist())


def test_batches_are_p_by_k_of_turned_images_and_repeat_under_a_seed() -> None:
    data = line_art([k for k in range(5) for _ in range(2)])
    batches = maker(data, 4)

    def epoch(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        np.random.seed(seed)  # the sampler's RNG, as the trainer seeds it
        return list(batches.epoch(torch.Generator().manual_seed(seed)))

    first, again = epoch(1), epoch(1)
    assert len(first) == 3
    for (x, y), (x2, y2) in zip(first, again, strict=True):
        assert x.shape == (8, 1, 16, 16)
        assert np.bincount(y.numpy()).max() == 2  # K = 2 views of each of P = 4 labels
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_rotation_classes_need_the_tensor_path() -> None:
    with pytest.raises(ValueError, match="rotations_as_classes"):
        TrainConfig(rotations_as_classes=True)  # distortion "photo" is per-image PIL
    with pytest.raises(ValueError, match="distortion"):
        TrainConfig(distortion="elastic")  # type: ignore[arg-type]
    assert TrainConfig(distortion="affine", rotations_as_classes=True).rotations_as_classes
