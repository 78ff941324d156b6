"""The model card: which model serves and how it was trained, in words."""

from __future__ import annotations

from indexer.encoder.checkpoint import DEFAULT_VERSION, load_checkpoint
from indexer.encoder.model_card import OFF_THE_SHELF, model_card, objective_of
from indexer.ingest.demo import demo_catalog, demo_model


def test_the_objective_comes_from_the_training_configuration() -> None:
    triplet = {"loss": "triplet", "miner": "batch-hard", "distance": "euclidean"}
    assert objective_of(triplet) == "triplet loss, batch-hard mining, euclidean distance"
    contrastive = {"loss": "contrastive", "miner": "semi-hard", "distance": "cosine"}
    assert objective_of(contrastive) == "contrastive loss, cosine distance"
    assert objective_of({}) is None


def test_the_off_the_shelf_model_was_never_trained() -> None:
    card = model_card(DEFAULT_VERSION, {})
    assert card.description == OFF_THE_SHELF
    assert (card.objective, card.trained_on) == (None, None)


def test_a_trained_checkpoint_without_a_card_says_what_it_can() -> None:
    metadata = {"train_config": {"backbone": "small_cnn", "loss": "triplet"}}
    card = model_card("small_cnn-d128-abc", metadata)
    assert "small_cnn" in card.description and card.objective == "triplet loss"
    assert card.trained_on is None


def test_the_shipped_demo_model_is_small_triplet_trained_and_never_saw_the_demo() -> None:
    path = demo_model()
    assert path.stat().st_size < 4 * 1024 * 1024
    model = load_checkpoint(path)
    card = model_card(model.version, model.metadata)
    assert card.objective == "triplet loss, semi-hard mining, cosine distance"
    assert "Omniglot" in str(card.trained_on) and model.metadata["calibrations"]
    demo = {f"{p.parent.parent.name}/{p.parent.name}" for p in demo_catalog().rglob("*.png")}
    assert len(demo) == 48 and set(model.metadata["excluded_labels"]) == demo
    assert model.metadata["validated_on"] == "validation"  # label-disjoint calibration
