"""Short CPU training runs: training must beat the untrained model on the shared data sets;
reproducibility, resuming and the self-supervised mode on the shipped demo characters.

Kept small (subsets, small inputs, few steps) so the whole file runs in about a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from indexer.encoder.calibration import Calibration, calibrations_of
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.embedder import Embedder
from indexer.training.config import TrainConfig
from indexer.training.data import LabelledSet, load_set, read_manifest
from indexer.training.retrieval_metrics import retrieval_metrics
from indexer.training.run import split
from indexer.training.trainer import Trainer
from tests.conftest import DEMO_CATALOG, SHARED_DATA

CPU = torch.device("cpu")


def omniglot_subset(n_labels: int, cache_side: int, root: Path = DEMO_CATALOG) -> LabelledSet:
    """`n_labels` characters spread over the alphabets, every drawing of each: 20 in
    ../shared/data/omniglot-background, 10 in the demo catalog the repository ships."""
    manifest = read_manifest(root)
    labels = sorted({label for _, label in manifest})
    keep = set(labels[:: len(labels) // n_labels][:n_labels])
    rows = [row for row in manifest if row[1] in keep]
    return load_set(root, rows, grayscale=True, cache_side=cache_side)


def caltech_subset(per_label: int, cache_side: int) -> LabelledSet:
    root = SHARED_DATA / "caltech101-7"
    seen: dict[str | None, int] = {}
    rows = []
    for relpath, label in read_manifest(root):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= per_label:
            rows.append((relpath, label))
    return load_set(root, rows, cache_side=cache_side)


@pytest.mark.shared_data("omniglot-background")
def test_omniglot_small_cnn_improves_on_unseen_characters(tmp_path: Path) -> None:
    config = TrainConfig(
        backbone="small_cnn",
        grayscale=True,
        flip=False,
        dim=64,
        input_size=48,
        epochs=3,
        steps_per_epoch=20,
        lr=3e-3,
        val_fraction=0.34,
        batch_labels=8,
        per_label=4,
        seed=0,
    )
    train_set, val_set = split(omniglot_subset(30, 96, SHARED_DATA / "omniglot-background"), config)
    assert set(train_set.labels.tolist()).isdisjoint(val_set.labels.tolist())
    out = tmp_path / "omniglot.pt"
    result = Trainer(config, train_set, val_set, device=CPU, progress=False).fit(out)
    print(f"omniglot map@r {result.baseline['map@r']:.4f} -> {result.metrics['map@r']:.4f}")
    assert result.metrics["map@r"] > result.baseline["map@r"] + 0.05
    assert result.metrics["recall@1"] > result.baseline["recall@1"]
    # The checkpoint holds the measured model: re-embedding through the product path
    # (load_checkpoint -> Embedder) reproduces the reported validation metrics.
    loaded = load_checkpoint(out)
    assert loaded.version == result.version
    embedder = Embedder(loaded, device="cpu")
    again = retrieval_metrics(embedder.embed(list(val_set.images)), val_set.labels)
    assert again["map@r"] == pytest.approx(result.metrics["map@r"], abs=1e-4)
    meta = loaded.metadata
    assert meta["train_config"]["backbone"] == "small_cnn"
    assert meta["baseline"]["map@r"] == result.baseline["map@r"]
    calibration = Calibration.from_dict(meta["calibration"])
    assert calibration.distance == "cosine" and calibration.n_pairs > 0
    every = calibrations_of(meta)  # one per distance, for galleries and compare
    assert set(every) == {"cosine", "euclidean", "manhattan"}
    assert every["cosine"] == calibration
    assert len(meta["history"]) == result.epochs == 3


@pytest.mark.shared_data("caltech101-7")
def test_caltech_frozen_pretrained_backbone_with_trained_head_improves(tmp_path: Path) -> None:
    config = TrainConfig(
        backbone="efficientnet_lite0",
        dim=128,
        input_size=64,
        epochs=2,
        steps_per_epoch=8,
        lr=1e-3,
        freeze_backbone=True,
        split="images",
        val_fraction=0.3,
        batch_labels=4,
        per_label=4,
        seed=0,
    )
    train_set, val_set = split(caltech_subset(25, 128), config)
    trainer = Trainer(config, train_set, val_set, device=CPU, progress=False)
    before = {k: v.clone() for k, v in trainer.encoder.backbone.state_dict().items()}
    result = trainer.fit(tmp_path / "caltech.pt")
    print(f"caltech map@r {result.baseline['map@r']:.4f} -> {result.metrics['map@r']:.4f}")
    assert result.metrics["map@r"] > result.baseline["map@r"] + 0.03
    after = trainer.encoder.backbone.state_dict()
    assert all(torch.equal(before[k], after[k].cpu()) for k in before)  # frozen, BN stats too
    assert load_checkpoint(tmp_path / "caltech.pt").encoder.config.pretrained


def test_untrained_run_is_reproducible_and_resume_continues_exactly(tmp_path: Path) -> None:
    config = TrainConfig(
        backbone="small_cnn",
        grayscale=True,
        flip=False,
        dim=16,
        input_size=32,
        epochs=2,
        steps_per_epoch=3,
        batch_labels=4,
        per_label=2,
        val_fraction=0.5,
        seed=3,
    )
    train_set, val_set = split(omniglot_subset(8, 64), config)

    def trainer() -> Trainer:
        return Trainer(config, train_set, val_set, device=CPU, progress=False)

    straight = trainer().fit(tmp_path / "straight.pt")
    interrupted = trainer()
    interrupted.progress.baseline = interrupted.validator.metrics(interrupted.encoder)
    interrupted.run_epoch()  # epoch 1 of 2, then the process "dies" after saving
    interrupted.save(tmp_path / "half.state.pt")
    resumed = trainer().fit(tmp_path / "resumed.pt", resume=tmp_path / "half.state.pt")
    assert resumed.epochs == straight.epochs == 2
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    a = load_checkpoint(tmp_path / "straight.pt").encoder.state_dict()
    b = load_checkpoint(tmp_path / "resumed.pt").encoder.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    assert resumed.metrics == pytest.approx(straight.metrics)
    assert (tmp_path / "straight.state.pt").is_file()


def test_resume_refuses_a_different_model_shape(tmp_path: Path) -> None:
    from indexer.catalog.errors import ConfigError

    small = dict(
        backbone="small_cnn",
        grayscale=True,
        flip=False,
        input_size=32,
        epochs=1,
        steps_per_epoch=1,
        batch_labels=4,
        per_label=2,
        val_fraction=0.5,
    )
    train_set, val_set = split(omniglot_subset(8, 64), TrainConfig(**small))
    Trainer(TrainConfig(**small, dim=16), train_set, val_set, device=CPU, progress=False).fit(
        tmp_path / "m.pt"
    )
    other = Trainer(TrainConfig(**small, dim=8), train_set, val_set, device=CPU, progress=False)
    with pytest.raises(ConfigError, match="dim"):
        other.fit(tmp_path / "n.pt", resume=tmp_path / "m.state.pt")


def test_unlabelled_folder_trains_self_supervised(tmp_path: Path) -> None:
    data = omniglot_subset(6, 64)
    unlabelled = LabelledSet(
        data.root, data.relpaths, np.arange(len(data)), data.relpaths, data.images, False
    )
    config = TrainConfig(
        backbone="small_cnn",
        grayscale=True,
        flip=False,
        dim=16,
        input_size=32,
        epochs=1,
        steps_per_epoch=4,
        batch_labels=8,
        per_label=2,
        val_fraction=0.25,
    )
    train_set, val_set = split(unlabelled, config)
    result = Trainer(config, train_set, val_set, device=CPU, progress=False).fit(tmp_path / "s.pt")
    assert 0.0 <= result.metrics["recall@1"] <= 1.0 and result.epochs == 1
    assert result.baseline["map@r"] > 0  # views of one image are positives
