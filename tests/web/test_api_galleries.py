"""Galleries over HTTP: enrol, list, identify (with unknowns), thresholds, delete, persistence."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.web.test_api_compare import png
from web import create_app

API = "/api/v1/galleries"


def enrol(client: FlaskClient, name: str, label: str, seed: int, **form: str) -> dict:
    data = {"image": (io.BytesIO(png(seed)), f"{seed}.png"), "label": label, **form}
    response = client.post(f"{API}/{name}/items", data=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def identify(client: FlaskClient, name: str, seed: int, **form: str) -> dict:
    data = {"image": (io.BytesIO(png(seed)), "q.png"), **form}
    response = client.post(f"{API}/{name}/identify", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_enrolled_image_is_identified_as_its_label(client: FlaskClient) -> None:
    for label, seeds in {"ann": [1, 2], "bob": [3, 4], "cyd": [5]}.items():
        for seed in seeds:
            enrol(client, "staff", label, seed)
    body = identify(client, "staff", 3)
    assert body["label"] == "bob"
    assert body["score"] == pytest.approx(1.0, abs=1e-5)
    assert [c["label"] for c in body["candidates"]][0] == "bob"
    assert {c["label"] for c in body["candidates"]} == {"ann", "bob", "cyd"}
    assert body["threshold_source"] == "gallery"  # uncalibrated model: its own references
    scores = [c["score"] for c in body["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_a_never_enrolled_identity_is_unknown_above_the_threshold(client: FlaskClient) -> None:
    enrol(client, "g", "ann", 1)
    enrol(client, "g", "bob", 2)
    response = client.patch(f"{API}/g", json={"threshold": 0.9999})
    assert response.get_json()["threshold"] == 0.9999
    body = identify(client, "g", 9)
    assert body["label"] is None
    assert body["score"] < 0.9999 and body["threshold_source"] == "set"
    assert identify(client, "g", 2)["label"] == "bob"
    client.patch(f"{API}/g", json={"threshold": None})
    assert client.get(f"{API}/g").get_json()["threshold"] is None


def test_references_of_a_label_are_aggregated(client: FlaskClient) -> None:
    for seed in (1, 2, 3):
        enrol(client, "agg", "many", seed)
    enrol(client, "agg", "one", 4)
    best = identify(client, "agg", 1, aggregate="max")["candidates"]
    mean = identify(client, "agg", 1, aggregate="mean")["candidates"]
    many_best = next(c["score"] for c in best if c["label"] == "many")
    many_mean = next(c["score"] for c in mean if c["label"] == "many")
    assert many_best == pytest.approx(1.0, abs=1e-5) and many_mean < many_best


def test_list_items_delete_item_and_gallery(client: FlaskClient) -> None:
    first = enrol(client, "tmp", "a", 1)
    enrol(client, "tmp", "b", 2)
    listing = client.get(API).get_json()["galleries"]
    assert listing == [
        {"name": "tmp", "distance": "cosine", "threshold": None, "items": 2,
         "labels": {"a": 1, "b": 1}}
    ]  # fmt: skip
    items = client.get(f"{API}/tmp/items").get_json()["items"]
    assert [i["label"] for i in items] == ["a", "b"]
    assert client.delete(f"{API}/tmp/items/{first['id']}").status_code == 200
    assert client.delete(f"{API}/tmp/items/{first['id']}").status_code == 404
    assert client.delete(f"{API}/tmp").get_json()["items"] == 1
    assert client.get(f"{API}/tmp").status_code == 404
    assert client.post(f"{API}/tmp/identify", data={
        "image": (io.BytesIO(png(1)), "q.png")}).status_code == 404  # fmt: skip


def test_the_distance_is_chosen_when_the_gallery_is_made(client: FlaskClient) -> None:
    enrol(client, "l1", "a", 1, distance="manhattan")
    enrol(client, "l1", "b", 2)
    body = identify(client, "l1", 1)
    assert body["best_label"] == "a" and body["score"] == pytest.approx(1.0, abs=1e-5)
    assert client.get(f"{API}/l1").get_json()["distance"] == "manhattan"
    data = {"image": (io.BytesIO(png(3)), "x.png"), "label": "c", "distance": "cosine"}
    assert client.post(f"{API}/l1/items", data=data).status_code == 400


@pytest.mark.parametrize(
    ("form", "code"),
    [({"label": ""}, 400), ({"label": "x" * 300}, 400), ({"label": "ok", "distance": "dot"}, 400)],
)
def test_bad_enrolments_are_refused(client: FlaskClient, form: dict, code: int) -> None:
    data = {"image": (io.BytesIO(png(1)), "a.png"), **form}
    assert client.post(f"{API}/g/items", data=data).status_code == code


def test_bad_names_and_images_are_refused(client: FlaskClient) -> None:
    data = {"image": (io.BytesIO(png(1)), "a.png"), "label": "a"}
    assert client.post(f"{API}/..%2Fx/items", data=data).status_code in (400, 404)
    data = {"image": (io.BytesIO(b"not an image"), "a.png"), "label": "a"}
    response = client.post(f"{API}/g/items", data=data)
    assert response.status_code in (400, 415)
    assert client.get(API).get_json()["galleries"] == []  # nothing half-made


def test_galleries_persist_across_restarts(client: FlaskClient, settings: Settings) -> None:
    enrol(client, "keep", "a", 1)
    enrol(client, "keep", "b", 2)
    again = create_app(runtime=build_runtime(settings, load="now")).test_client()
    assert identify(again, "keep", 2)["best_label"] == "b"


def test_one_reference_per_label_gives_the_nearest_label_and_no_open_set_verdict(
    client: FlaskClient,
) -> None:
    """Without a fitting threshold nothing is called unknown: `label` and `known` are null
    (undecided), `best_label` is the closed-set answer."""
    for label, seed in {"ann": 1, "bob": 3, "cyd": 5}.items():
        enrol(client, "one", label, seed)
    body = identify(client, "one", 3)
    assert (body["label"], body["known"], body["best_label"]) == (None, None, "bob")
    assert (body["threshold"], body["threshold_source"]) == (None, "none")
    client.patch(f"{API}/one", json={"threshold": 0.5})
    decided = identify(client, "one", 3)
    assert (decided["label"], decided["known"], decided["threshold_source"]) == ("bob", True, "set")


def test_an_empty_gallery_name_is_not_found(client: FlaskClient) -> None:
    response = client.post(f"{API}/nobody/identify", data={"image": (io.BytesIO(png(1)), "q")})
    assert response.status_code == 404
    assert "nobody" in response.get_json()["error"]["message"]
