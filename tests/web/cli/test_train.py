"""`lookalike train` end to end on a generated folder: options, output, resume, feedback."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from indexer.catalog.database import make_session_factory
from indexer.catalog.errors import ConfigError
from indexer.catalog.feedback import record_feedback
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import load_checkpoint
from indexer.ingest.registration import register_files
from tests.conftest import strokes, write_images
from web.cli import train as cli_train
from web.cli.main import main

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
    "--split",
    "labels",
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


@pytest.fixture
def drawings(tmp_path: Path) -> Path:
    """12 labels x 5 binary stroke drawings: line art."""
    for label in range(12):
        folder = tmp_path / "drawings" / f"char{label:02d}"
        folder.mkdir(parents=True)
        for k in range(5):
            strokes(100 * label + k).save(folder / f"{k}.png")
    return tmp_path / "drawings"


def test_a_run_without_options_chooses_prints_and_keeps_to_its_budget(
    drawings: Path, tmp_path: Path, cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "auto.pt"
    start = time.monotonic()
    argv = ["--data", str(drawings), "--out", str(out), "--time-budget", "20s", "--no-progress"]
    assert run(argv, cli_settings) == 0
    wall = time.monotonic() - start
    printed = capsys.readouterr().out
    assert "backbone        small_cnn  (grayscale line art:" in printed
    assert "budget    20 s on cpu" in printed and "time      " in printed
    assert wall < 20 + 15  # the budget, plus imports and at most one step past it
    meta = load_checkpoint(out).metadata
    assert meta["train_config"]["backbone"] == "small_cnn" and meta["train_config"]["grayscale"]
    assert meta["data_profile"]["kind"] == "line art" and meta["recipe"]
    report = meta["budget"]
    assert report["budget_s"] == 20
    assert sum(p["s"] for p in report["phases"].values()) == pytest.approx(
        report["wall_s"], abs=0.01
    )
    assert {"loading", "baseline", "timing", "training", "validation"} <= set(report["phases"])
    assert isinstance(meta["beats_baseline"], bool)
    # --json: the recipe goes to stderr, the outcome to stdout as JSON.
    argv += ["--json", "--epochs", "1", "--steps-per-epoch", "1"]
    assert run(argv, cli_settings) == 0
    captured = capsys.readouterr()
    outcome = json.loads(captured.out)
    assert "recipe    " in captured.err and outcome["epochs"] == 1
    assert outcome["beats_baseline"] == outcome["never_worse"]["beats_baseline"]
    phases = outcome["budget"]["phases"]
    assert sum(p["s"] for p in phases.values()) == pytest.approx(
        outcome["budget"]["wall_s"], abs=0.01
    )
    assert phases["calibration+writing"]["s"] > 0  # the final report includes the writing


def test_a_model_that_did_not_beat_the_untrained_one_needs_force_to_serve(
    labelled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in ("REDIS_URL", "DATABASE_URL", "LOOKALIKE_MODEL", "LOOKALIKE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOOKALIKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOOKALIKE_DEVICE", "cpu")
    out = tmp_path / "stale.pt"
    # A frozen backbone and a zero learning rate leave the weights exactly as they started.
    frozen = ["--freeze-backbone", "--lr", "0", "--epochs", "1", "--time-budget", "none"]
    assert main(["train", "--data", str(labelled), "--out", str(out), *frozen, *FAST]) == 0
    printed = capsys.readouterr().out
    assert "did not beat the untrained model (as it started, on 2 held-out labels" in printed
    assert "caution   2 held-out labels are a small check" in printed
    meta = load_checkpoint(out).metadata
    assert meta["beats_baseline"] is False
    assert meta["never_worse"]["trained"] == meta["never_worse"]["starting_model"]
    bootstrap = meta["never_worse"]["starting_confidence"]  # of the same embeddings: no gain
    assert (bootstrap["units"], bootstrap["count"], bootstrap["p_better"]) == ("labels", 2, 0.0)
    assert main(["reindex", "--model", str(out), "--no-progress"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["reindex", "--model", str(out), "--no-progress", "--force"]) == 0
    assert "did not beat" in capsys.readouterr().err


def test_budget_option_parses_and_defaults_by_device() -> None:
    assert cli_train.budget_from_args(None, "cpu") == 900
    assert cli_train.budget_from_args(None, "cuda") == 3600
    assert cli_train.budget_from_args("90s", "cpu") == 90
    assert cli_train.budget_from_args("0", "cpu") is None
    with pytest.raises(ConfigError, match="time-budget"):
        cli_train.budget_from_args("soon", "cpu")
    assert cli_train.overrides_from_args(parse(["--data", "d", "--out", "m.pt"])) == {}
    given = cli_train.overrides_from_args(parse(["--data", "d", "--out", "m", "--no-flip"]))
    assert given == {"flip": False}


def test_the_verdict_names_its_metric_and_stays_quiet_about_many_labels() -> None:
    verdict = {
        "metric": "forgery_auc", "validation_labels": 40, "trained": 0.88,
        "starting_model": 0.87, "beats_starting_model": True, "default_model": 0.84,
        "trained_on_default_sample": 0.88, "default_sample_labels": 40,
        "default_sample_images": 300, "default_sampled": False, "beats_default_model": True,
    }  # fmt: skip
    lines = cli_train.verdict_lines(verdict)
    assert lines[0].startswith("default   genuine-vs-forgery ROC AUC 0.8400 off the shelf")
    assert lines[-1] == "verdict   training beat the untrained model on 40 held-out labels"
    assert not any("mAP@R" in line or line.startswith("caution") for line in lines)


def test_a_win_a_redraw_could_undo_is_not_claimed() -> None:
    unclear = {
        "metric": "map@r", "units": "labels", "count": 6, "resamples": 1000, "p_better": 0.71,
        "gain_low": -0.021, "gain_high": 0.048, "clear": False, "clear_at": 0.95,
    }  # fmt: skip
    verdict = {
        "metric": "map@r", "validation_labels": 6, "trained": 0.5, "starting_model": 0.4,
        "beats_starting_model": True, "starting_confidence": unclear, "default_model": None,
        "default_model_note": "", "clear_win": False, "beats_baseline": False,
    }  # fmt: skip
    lines = cli_train.verdict_lines(verdict)
    assert lines[0] == (
        "confidence vs the starting model: better in 71% of 1000 redraws of the 6 held-out labels "
        "(gain -0.021 to +0.048): not a clear win (needs 95%)"
    )
    assert lines[1].startswith("verdict   training did not clearly beat the untrained model (the")
    assert "beats_baseline false" in lines[1] and lines[2].startswith("caution   6 held-out")
    clear = unclear | {"p_better": 1.0, "gain_low": 0.05, "clear": True}
    lines = cli_train.verdict_lines(verdict | {"starting_confidence": clear, "clear_win": True})
    assert lines[0].endswith("a clear win")
    assert lines[1] == "verdict   training beat the untrained model on 6 held-out labels"
