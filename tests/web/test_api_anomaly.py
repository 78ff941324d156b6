"""POST /api/v1/anomaly and GET /api/v1/duplicates over an indexed catalog."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image as PILImage
from sqlalchemy import select

from indexer.catalog.schema import Embedding
from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from search.scores import scores_between
from tests.conftest import index_folder, make_image
from tests.web.test_api_compare import png
from tests.web.test_api_galleries import enrol
from web import create_app


def score(client: FlaskClient, data: bytes, **form: str) -> dict:
    response = client.post("/api/v1/anomaly", data={"image": (io.BytesIO(data), "q"), **form})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_catalog_image_scores_as_normal(client: FlaskClient, image_folder: Path) -> None:
    catalog_image = sorted(p for p in image_folder.rglob("*") if p.is_file())[0].read_bytes()
    body = score(client, catalog_image, k="3")
    assert body["k"] == 3 and len(body["neighbours"]) == 3
    assert body["reference"] == "catalog" and body["calibrated_on"] >= 2
    assert body["neighbours"][0]["distance"] == pytest.approx(0.0, abs=1e-5)
    assert body["score"] == pytest.approx(
        sum(n["distance"] for n in body["neighbours"]) / 3, rel=1e-5
    )
    assert body["is_anomaly"] is (body["score"] > body["threshold"])


def test_novelty_follows_the_percentile(client: FlaskClient) -> None:
    # Percentile 100 puts the threshold at the most novel catalog image; a low one below most.
    low = score(client, png(999), percentile="1")
    high = score(client, png(999), percentile="100")
    assert low["threshold"] <= high["threshold"]
    assert low["score"] == high["score"]


def test_a_far_image_is_an_anomaly(client: FlaskClient) -> None:
    # Solid white is unlike the textured catalog images; the catalog's own scores set the bar.
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 64), "white").save(buffer, format="PNG")
    body = score(client, buffer.getvalue(), percentile="90")
    assert body["is_anomaly"] is True and body["score"] > body["threshold"]


def test_scoring_against_a_gallery(client: FlaskClient) -> None:
    for seed, label in [(1, "a"), (2, "a"), (3, "b"), (4, "b")]:
        enrol(client, "normal", label, seed)
    body = score(client, png(1), gallery="normal", k="2")
    assert body["reference"] == "gallery:normal" and body["calibrated_on"] == 4
    assert body["neighbours"][0]["label"] == "a"
    assert body["neighbours"][0]["distance"] == pytest.approx(0.0, abs=1e-5)


def test_bad_anomaly_requests(client: FlaskClient) -> None:
    for form in ({"percentile": "0"}, {"percentile": "101"}, {"k": "0"}, {"gallery": "none"}):
        response = client.post("/api/v1/anomaly", data={"image": (io.BytesIO(png(1)), "q"), **form})
        assert response.status_code in (400, 404), form


def test_duplicates_groups_near_and_exact_copies(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "dups"
    folder.mkdir()
    for seed in range(6):
        make_image(seed, (96, 80)).save(folder / f"img{seed}.png")
    shutil.copy(folder / "img0.png", folder / "copy0.png")  # byte-identical
    make_image(1, (96, 80)).save(folder / "near1.jpg", quality=97)  # re-encoded
    index_folder(settings, folder)
    client = create_app(runtime=build_runtime(settings, load="now")).test_client()
    body = client.get("/api/v1/duplicates").get_json()  # the default threshold
    exact = [sorted(Path(m["uri"]).name for m in g["members"]) for g in body["exact"]]
    assert exact == [["copy0.png", "img0.png"]]
    near = [sorted(Path(m["uri"]).name for m in g["members"]) for g in body["near"]]
    assert ["img1.png", "near1.jpg"] in near
    assert all(g["score"] >= body["threshold"] for g in body["near"])
    strict = client.get("/api/v1/duplicates?threshold=1").get_json()
    assert strict["near"] == [] and strict["exact"] == body["exact"]
    assert client.get("/api/v1/duplicates?threshold=abc").status_code == 400


def test_duplicates_groups_have_a_representative_and_find_turned_copies(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "dups"
    folder.mkdir()
    for seed in range(4):
        make_image(seed, (96, 80)).save(folder / f"img{seed}.png")
    make_image(1, (96, 80)).transpose(PILImage.Transpose.ROTATE_90).save(folder / "turned1.png")
    index_folder(settings, folder)
    client = create_app(runtime=build_runtime(settings, load="now")).test_client()
    body = client.get("/api/v1/duplicates?threshold=0.99").get_json()
    assert body["unreadable"] == 0 and body["verified"] >= 1
    group = next(g for g in body["near"] if any("turned1" in m["uri"] for m in g["members"]))
    assert sorted(m["uri"].rsplit("/", 1)[-1] for m in group["members"]) == [
        "img1.png",
        "turned1.png",
    ]
    assert group["members"][0]["id"] == group["representative"]
    assert all(m["score"] >= 0.99 for m in group["members"])
    assert client.get("/api/v1/duplicates?neighbours=0").status_code == 400


def brute_force_threshold(runtime: Runtime, k: int, percentile: float) -> float:
    """The catalog threshold from every pair of the database's vectors (no index, no sample)."""
    version = runtime.serving.current().version
    with runtime.sessions() as session:
        query = select(Embedding.vector).where(Embedding.model_version == version)
        vectors = np.stack([np.frombuffer(v, dtype=np.float32) for v in session.scalars(query)])
    mutual = scores_between(vectors, vectors, runtime.settings.distance).distance  # (n, n)
    np.fill_diagonal(mutual, np.inf)
    normal = np.sort(mutual, axis=1)[:, :k].mean(axis=1)  # (n,)
    return float(np.percentile(normal, percentile))


def count_samplings(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the catalog's vectors are read for calibration."""
    index_sync = runtime.serving.current().index_sync
    calls: list[int] = []
    read = index_sync.exact_vectors

    def counted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(ids))
        return read(ids)

    monkeypatch.setattr(index_sync, "exact_vectors", counted)
    return calls


def test_any_percentile_and_k_reuse_one_catalog_sample(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: every new percentile (and k) ran the whole leave-one-out calibration again
    # (8 s on a large catalog) and was cached forever, one entry per value sent.
    samplings = count_samplings(runtime, monkeypatch)
    query = png(999)
    for n, percentile in enumerate(np.linspace(1, 100, 40)):
        k = 2 + n % 5
        body = score(client, query, percentile=f"{percentile:.4f}", k=str(k))
        expected = brute_force_threshold(runtime, k, float(f"{percentile:.4f}"))
        assert body["threshold"] == pytest.approx(expected, abs=1e-5), (percentile, k)
    assert len(samplings) == 1


def test_a_changed_catalog_is_sampled_again(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    samplings = count_samplings(runtime, monkeypatch)
    before = score(client, png(999), percentile="100", k="3")
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 64), "white").save(buffer, format="PNG")  # an outlier
    added = client.post("/api/v1/images", data={"image": (io.BytesIO(buffer.getvalue()), "w")})
    assert added.status_code == 201
    after = score(client, png(999), percentile="100", k="3")
    assert len(samplings) == 2 and after["calibrated_on"] == before["calibrated_on"] + 1
    assert after["threshold"] == pytest.approx(brute_force_threshold(runtime, 3, 100), abs=1e-5)
    score(client, png(999), percentile="50", k="3")
    assert len(samplings) == 2
