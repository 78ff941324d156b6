"""`lookalike calibrate`: a verdict threshold measured on the owner's labelled images, stored
per model in the catalog, used by every verdict once measured and gone once cleared."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import make_image
from web import create_app
from web.cli.main import main

LABELS = 8
PER_LABEL = 5


def variant(seed: int, k: int) -> Image.Image:
    """The k-th drawing of label `seed`: a shifted crop of one picture with fresh noise."""
    base = np.asarray(make_image(seed, size=(120, 100)), dtype=np.int16)
    rng = np.random.default_rng(1000 * seed + k)
    x, y = int(rng.integers(0, 12)), int(rng.integers(0, 12))
    crop = base[y : y + 88, x : x + 108] + rng.integers(-12, 12, (88, 108, 3))
    return Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8))


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    """LABELS labels x PER_LABEL images in sub-folders named after the label."""
    root = tmp_path / "labelled"
    for seed in range(LABELS):
        (root / f"label{seed}").mkdir(parents=True)
        for k in range(PER_LABEL):
            variant(seed, k).save(root / f"label{seed}" / f"{k}.png")
    return root


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def compare(client, a: Image.Image, b: Image.Image) -> dict:  # type: ignore[no-untyped-def]
    data = {"image_a": (io.BytesIO(png(a)), "a.png"), "image_b": (io.BytesIO(png(b)), "b.png")}
    response = client.post("/api/v1/compare", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_stored_calibration_gives_verdicts_until_cleared(
    env: Settings, labelled_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = build_runtime(env, load="now")
    client = create_app(runtime=runtime).test_client()
    a, b = variant(0, 7), variant(0, 8)
    before = compare(client, a, b)
    assert before["same"] is None and before["threshold_source"] == "none"
    assert client.get("/api/v1/health").get_json()["calibration"] is None

    assert main(["calibrate", "--data", str(labelled_folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "promises" in out and f"{LABELS * PER_LABEL} images" in out
    runtime.serving.check_for_switch(wait=True)  # what every server does each sync interval

    after = compare(client, a, b)
    assert after["threshold_source"] == "catalog" and isinstance(after["same"], bool)
    assert 0.0 <= after["promised_far"] < 0.5
    health = client.get("/api/v1/health").get_json()["calibration"]
    assert health["source"] == "catalog" and health["threshold"] == after["threshold"]
    assert main(["calibrate", "--show", "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["measured_on"]["n_labels"] == LABELS
    assert set(stored["calibrations"]) == {"cosine", "euclidean", "manhattan"}

    assert main(["calibrate", "--clear"]) == 0
    runtime.serving.check_for_switch(wait=True)
    assert compare(client, a, b)["same"] is None
    capsys.readouterr()
    assert main(["calibrate", "--show"]) == 1
    runtime.sessions.kw["bind"].dispose()


def test_a_far_target_sets_the_operating_point(
    env: Settings, labelled_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", "--data", str(labelled_folder), "--far", "0.01", "--json"]) == 0
    cosine = json.loads(capsys.readouterr().out)["calibrations"]["cosine"]
    assert cosine["decision"] == "0.01" and "0.01" in cosine["far_thresholds"]
    assert main(["calibrate", "--data", str(labelled_folder), "--far", "2"]) == 2
    assert "--far" in capsys.readouterr().err


def test_labelled_pairs_calibrate_too(
    env: Settings, labelled_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = sorted(
        p.relative_to(labelled_folder).as_posix() for p in labelled_folder.rglob("*.png")
    )
    pairs = labelled_folder / "pairs.csv"
    with pairs.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["relpath1", "relpath2", "same"])
        for i, first in enumerate(images):
            for second in images[i + 1 :]:
                writer.writerow([first, second, int(first.split("/")[0] == second.split("/")[0])])
    args = ["calibrate", "--data", str(labelled_folder), "--pairs", str(pairs), "--json"]
    assert main(args) == 0
    measured = json.loads(capsys.readouterr().out)["measured_on"]
    assert measured["pairs"] == "csv" and measured["n_same_pairs"] == LABELS * 10


@pytest.mark.parametrize("labels, per_label", [(2, 2), (1, 6)])
def test_too_few_pairs_is_a_clear_error(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: int, per_label: int
) -> None:
    root = tmp_path / "few"
    for seed in range(labels):
        (root / f"l{seed}").mkdir(parents=True)
        for k in range(per_label):
            variant(seed, k).save(root / f"l{seed}" / f"{k}.png")
    assert main(["calibrate", "--data", str(root)]) == 2
    assert "pairs" in capsys.readouterr().err


def test_a_folder_without_labels_is_refused(
    env: Settings, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in (image_folder / "a").iterdir():
        (flat / path.name).write_bytes(path.read_bytes())
    assert main(["calibrate", "--data", str(flat)]) == 2
    assert "no labels" in capsys.readouterr().err
    assert main(["calibrate", "--data", str(tmp_path / "missing")]) == 2
