"""`lookalike train` end to end on a generated folder: options, output, resume, feedback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from indexer.catalog.database import make_session_factory
from indexer.catalog.errors import ConfigError
from indexer.catalog.feedback import record_feedback
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import load_checkpoint
from indexer.ingest.registration import register_files
from tests.conftest import write_images
from web.cli import train as cli_train

FAST = [
    "--backbone",
    "small_cnn",
    "--dim",
    "16",
    "--input-size",
    "32",
    "--steps-per-epoch",
    "2",
    "--batch-labels",
    "2",
    "--per-label",
    "2",
    "--val-fraction",
    "0.5",
    "--no-progress",
    "--device",
    "cpu",
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lookalike")
    cli_train.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["train", *argv])


def run(argv: list[str], settings: Settings) -> int:
    args = parse(argv)
    return int(args.handler(args, settings))


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    for k in range(4):
        write_images(tmp_path / "data" / f"label{k}", range(10 * k, 10 * k + 4))
    return tmp_path / "data"


@pytest.fixture
def cli_settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"LOOKALIKE_HOME": str(tmp_path / "home"), "LOOKALIKE_DEVICE": "cpu"})


def test_train_writes_a_versioned_calibrated_model_and_resumes(
    labelled: Path, tmp_path: Path, cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.pt"
    assert (
        run(["--data", str(labelled), "--out", str(out), "--epochs", "1", *FAST], cli_settings) == 0
    )
    printed = capsys.readouterr().out
    assert "map@r" in printed and "untrained -> trained" in printed
    model = load_checkpoint(out)
    assert model.encoder.dim == 16 and model.encoder.config.backbone == "small_cnn"
    assert model.version in printed
    assert model.metadata["train_config"]["miner"] == "semi-hard"
    assert "eer_threshold" in model.metadata["calibration"]
    state = tmp_path / "model.state.pt"
    assert state.is_file()
    assert (
        run(
            [
                "--data",
                str(labelled),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--resume",
                str(state),
                *FAST,
            ],
            cli_settings,
        )
        == 0
    )
    assert load_checkpoint(out).metadata["epochs"] == 2


def test_options_become_the_config() -> None:
    args = parse(
        [
            "--data",
            "d",
            "--out",
            "m.pt",
            "--backbone",
            "small_cnn",
            "--grayscale",
            "--loss",
            "contrastive",
            "--miner",
            "batch-hard",
            "--distance",
            "manhattan",
            "--margin",
            "1.5",
            "--freeze-backbone",
            "--backbone-lr-mult",
            "0.5",
        ]
    )
    config = cli_train.config_from_args(args)
    assert (config.loss, config.miner, config.distance, config.margin) == (
        "contrastive",
        "batch-hard",
        "manhattan",
        1.5,
    )
    assert config.grayscale and not config.flip and config.freeze_backbone
    assert cli_train.config_from_args(parse(["--data", "d", "--out", "m.pt"])).flip
    with pytest.raises(ConfigError, match="small_cnn"):
        cli_train.config_from_args(parse(["--data", "d", "--out", "m.pt", "--grayscale"]))


def test_feedback_marks_from_the_catalog_join_training(
    labelled: Path, tmp_path: Path, cli_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    files = sorted(labelled.rglob("*.png"))
    sessions = make_session_factory(cli_settings.database_url)
    with sessions.begin() as session:
        ids, _ = register_files(session, files[:4])
        record_feedback(session, query_image_id=ids[0], result_id=ids[1], same=True)
        record_feedback(session, query_image_id=ids[0], result_id=ids[2], same=False)
    sessions.kw["bind"].dispose()
    caplog.set_level("INFO", logger="indexer.training")
    out = tmp_path / "fb.pt"
    assert (
        run(
            ["--data", str(labelled), "--out", str(out), "--epochs", "1", "--feedback", *FAST],
            cli_settings,
        )
        == 0
    )
    assert "feedback: 2 of 2 pairs usable" in caplog.text


def test_feedback_without_marks_is_a_config_error(
    labelled: Path, tmp_path: Path, cli_settings: Settings
) -> None:
    with pytest.raises(ConfigError, match="no right/wrong marks"):
        run(
            ["--data", str(labelled), "--out", str(tmp_path / "x.pt"), "--feedback", *FAST],
            cli_settings,
        )
