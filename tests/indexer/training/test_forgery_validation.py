"""Signature sets (labels W and W_forg): split by writer, validate on genuine vs forgery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from indexer.encoder.model import EncoderConfig, SiameseEncoder
from indexer.training.augment import Augment, AugmentConfig
from indexer.training.config import TrainConfig
from indexer.training.data import LabelledSet, split_by_label
from indexer.training.data_profile import inspect_images
from indexer.training.never_worse import verdict
from indexer.training.recipe import choose_recipe
from indexer.training.retrieval_metrics import paired_similarities, verification_metrics
from indexer.training.run import split
from indexer.training.trainer import Trainer
from indexer.training.validation import Validator, embed_tensors
from indexer.training.verification_pairs import forgery_pairs, forgery_suffix_in, writer_of


def scan(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    paper = rng.normal(200, 25, (60, 90)).clip(0, 255)
    row = 10 + seed % 30
    paper[row : row + 12, 10:80] = rng.normal(90, 30, (12, 70)).clip(0, 255)
    return Image.fromarray(paper.astype(np.uint8), "L")


def signatures(writers: int = 8, genuine: int = 4, forged: int = 3) -> LabelledSet:
    """Writers 000.. with `genuine` signatures each and `forged` forgeries labelled W_forg."""
    names: list[str] = []
    for w in range(writers):
        names += [f"{w:03d}"] * genuine + [f"{w:03d}_forg"] * forged
    label_names = tuple(sorted(set(names)))
    labels = np.asarray([label_names.index(n) for n in names], dtype=np.int64)
    images = tuple(scan(i) for i in range(len(names)))
    rel = tuple(f"{i}.png" for i in range(len(names)))
    return LabelledSet(Path("."), rel, labels, label_names, images, True, ())


def test_the_forgery_convention_is_detected_only_when_forged_writers_exist() -> None:
    assert forgery_suffix_in(["001", "001_forg", "002", "002_forg"]) == "_forg"
    assert forgery_suffix_in(["001", "001_forg", "002"]) is None  # one forged writer
    assert forgery_suffix_in(["a_forg", "b_forg", "c"]) is None  # forgeries of nobody
    assert writer_of("012_forg", "_forg") == "012" and writer_of("012_forg", None) == "012_forg"


def test_the_label_split_keeps_a_writers_genuine_and_forged_labels_together() -> None:
    data = signatures()
    for seed in range(5):
        train, val = split_by_label(data, 0.25, seed=seed, group=lambda n: writer_of(n, "_forg"))
        train_writers = {writer_of(train.label_names[c], "_forg") for c in train.labels}
        val_writers = {writer_of(val.label_names[c], "_forg") for c in val.labels}
        assert train_writers.isdisjoint(val_writers) and len(val_writers) == 2
        assert len(train) + len(val) == len(data)


def test_the_recipe_turns_forgery_validation_on_for_signature_labels() -> None:
    profile = inspect_images(signatures())
    assert profile.forgery_suffix == "_forg"
    config, reasons = choose_recipe(profile, device="cpu", budget_s=900)
    assert config.forgery_suffix == "_forg" and config.selection_metric == "forgery_auc"
    assert any(r.startswith("forgery_suffix") for r in reasons)
    train, val = split(signatures(), config)
    assert {writer_of(val.label_names[c], "_forg") for c in val.labels}.isdisjoint(
        {writer_of(train.label_names[c], "_forg") for c in train.labels}
    )


def test_validation_scores_every_genuine_and_forgery_pair_like_a_direct_computation() -> None:
    data = signatures(writers=3)
    torch.manual_seed(0)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, grayscale=True,
                           pretrained=False)  # fmt: skip
    encoder = SiameseEncoder(config).eval()
    validator = Validator(data, encoder, Augment(AugmentConfig()), "cosine", forgery_suffix="_forg")
    metrics = validator.metrics(encoder)
    pairs = forgery_pairs([data.label_names[c] for c in data.labels])
    assert len(pairs) == 3 * (6 + 12)  # per writer: C(4, 2) same, 4 x 3 forged
    emb = embed_tensors(encoder, validator.images)
    oracle = verification_metrics(paired_similarities(emb, pairs.first, pairs.second), pairs.same)
    assert metrics["forgery_auc"] == oracle["roc_auc"]
    assert metrics["forgery_eer"] == oracle["eer"]
    plain = Validator(data, encoder, Augment(AugmentConfig()), "cosine")
    assert "forgery_auc" not in plain.metrics(encoder)


def test_the_trainer_keeps_and_judges_on_the_forgery_auc(tmp_path: Path) -> None:
    config = TrainConfig(backbone="small_cnn", grayscale=True, input_size=32, dim=8, epochs=2,
                         steps_per_epoch=1, batch_labels=4, per_label=2, flip=False,
                         val_fraction=0.25, forgery_suffix="_forg")  # fmt: skip
    train_set, val_set = split(signatures(), config)
    trainer = Trainer(config, train_set, val_set, device=torch.device("cpu"), progress=False)
    assert trainer.metric == "forgery_auc"
    result = trainer.fit(tmp_path / "m.pt")
    assert result.verdict["metric"] == "forgery_auc"
    assert all("forgery_eer" in h for h in result.history)


def test_the_verdict_compares_on_the_metric_it_is_given() -> None:
    trained = {"map@r": 0.9, "forgery_auc": 0.70}
    starting = {"map@r": 0.5, "forgery_auc": 0.75}
    assert verdict(trained, starting)["beats_baseline"]  # better retrieval ...
    judged = verdict(trained, starting, metric="forgery_auc")
    assert not judged["beats_baseline"]  # ... but worse at telling forgeries: no claim
