"""Extra labelled pairs (user feedback): loading them and their effect on training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from indexer.catalog.feedback import FeedbackPair
from indexer.encoder.preprocess import to_tensor
from indexer.training.config import TrainConfig
from indexer.training.data import load_set, read_manifest
from indexer.training.feedback_pairs import PairSet, load_pairs
from indexer.training.run import split
from indexer.training.trainer import Trainer
from indexer.training.validation import embed_tensors
from tests.conftest import DEMO_CATALOG, write_images


def test_load_pairs_decodes_both_images_and_skips_broken_pairs(tmp_path: Path) -> None:
    a, b, c = write_images(tmp_path, range(3))
    pairs = [
        FeedbackPair(str(a), str(b), True),
        FeedbackPair(f"file://{b}", str(c), False),
        FeedbackPair(str(a), str(tmp_path / "gone.png"), True),
    ]
    loaded = load_pairs(pairs, cache_side=32)
    assert len(loaded) == 2 and loaded.same.tolist() == [True, False]
    assert all(max(im.size) <= 32 for im in loaded.first + loaded.second)
    picked = loaded.sample(5, torch.Generator().manual_seed(0))
    assert sorted(picked.tolist()) == [0, 1]


def pair_similarity(trainer: Trainer, pairs: PairSet) -> float:
    """Mean cosine similarity of the pairs under the trainer's encoder."""
    config = trainer.encoder.config
    first = torch.stack([to_tensor(im, config) for im in pairs.first])
    second = torch.stack([to_tensor(im, config) for im in pairs.second])
    a, b = embed_tensors(trainer.encoder, first), embed_tensors(trainer.encoder, second)
    return float((a * b).sum(axis=1).mean())


def test_feedback_pairs_push_marked_images_apart() -> None:
    manifest = read_manifest(DEMO_CATALOG)  # the shipped Omniglot characters, 10 drawings each
    labels = sorted({label for _, label in manifest})[:40:5]  # 8 characters
    rows = [r for r in manifest if r[1] in labels]
    data = load_set(DEMO_CATALOG, rows, grayscale=True, cache_side=64)
    config = TrainConfig(
        backbone="small_cnn",
        grayscale=True,
        flip=False,
        dim=32,
        input_size=32,
        epochs=1,
        steps_per_epoch=16,
        lr=3e-3,
        batch_labels=4,
        per_label=4,
        val_fraction=0.25,
        seed=1,
        feedback_weight=3.0,
        feedback_batch=8,
    )
    train_set, val_set = split(data, config)
    # A user marks drawings of one character as "wrong" results for each other, against
    # the labels: the pair term must push them apart where plain training pulls them in.
    drawings = np.flatnonzero(train_set.labels == train_set.labels[0])
    half = len(drawings) // 2
    pairs = PairSet(
        tuple(train_set.images[i] for i in drawings[:half]),
        tuple(train_set.images[i] for i in drawings[half : 2 * half]),
        np.zeros(half, dtype=bool),
    )
    plain = Trainer(config, train_set, val_set, device=torch.device("cpu"), progress=False)
    plain.train_epoch()
    taught = Trainer(
        config, train_set, val_set, device=torch.device("cpu"), pairs=pairs, progress=False
    )
    taught.train_epoch()
    before, after = pair_similarity(plain, pairs), pair_similarity(taught, pairs)
    print(f"similarity of pairs marked wrong: {before:.4f} without feedback, {after:.4f} with")
    assert after < before - 0.05
