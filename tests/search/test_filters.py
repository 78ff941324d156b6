"""Metadata filters: parsing, matching, and filtered top-k against a brute-force oracle."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from indexer.catalog.schema import Embedding, Image, ImageStatus
from indexer.catalog.settings import Settings
from search.errors import InvalidFilterError
from search.filters import MetadataFilter
from search.runtime import Runtime, build_runtime
from tests.conftest import index_folder, make_image, write_images
from web import create_app
from web.cli import catalog as cli_commands

N = 48
FILTERS = [
    ["category:b"],
    ["category:rare"],  # two items: needs the whole index searched
    ["category:a", "year:2021"],
    ["tags:red"],
    ["sale:true"],
    ["category:none-such"],
    [],
]


def record(i: int) -> dict:
    category = "rare" if i in (5, 31) else ("b" if i % 3 == 0 else "a")
    return {
        "uri": f"img/img_{i:04d}.png",
        "category": category,
        "year": 2020 + i % 4,
        "tags": ["red"] if i % 5 == 0 else ["blue", "green"],
        "sale": i % 7 == 0,
    }


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path) -> Iterator[Runtime]:
    """A catalog of N images with metadata, indexed from a JSONL manifest."""
    folder = tmp_path_factory.mktemp("filtered")
    write_images(folder / "img", range(N))
    manifest = folder / "items.jsonl"
    manifest.write_text("".join(json.dumps(record(i)) + "\n" for i in range(N)))
    settings = Settings.from_env(
        {
            "LOOKALIKE_HOME": str(folder / "home"),
            "LOOKALIKE_MODEL": str(tiny_model_path),
            "LOOKALIKE_DEVICE": "cpu",
        }
    )
    index_folder(settings, manifest)
    rt = build_runtime(settings, load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


def oracle(rt: Runtime, query: np.ndarray, where: MetadataFilter, k: int) -> list[int]:
    """Brute force: score every indexed vector, keep the matching rows, sort, cut at k."""
    with rt.sessions() as session:
        rows = session.execute(
            select(Image.id, Image.meta, Embedding.vector)
            .join(Embedding, Embedding.image_id == Image.id)
            .where(Image.status == ImageStatus.INDEXED)
        ).all()
    scored = [
        (float(np.frombuffer(blob, dtype=np.float32) @ query[0]), image_id)
        for image_id, meta, blob in rows
        if where.matches(meta)
    ]
    return [image_id for _, image_id in sorted(scored, reverse=True)[:k]]


@pytest.mark.parametrize("terms", FILTERS)
def test_filtered_top_k_matches_brute_force(runtime: Runtime, terms: list[str]) -> None:
    where = MetadataFilter.parse(terms)
    queries = [runtime.engine.embed_bytes(_png(seed)) for seed in (1000, 1001, 1002)]
    queries.append(runtime.engine.stored_vector(3, runtime.serving.version))
    for query in queries:
        for k in (1, 3, 5, 10, N):
            hits = runtime.engine.search_vectors(query, k=k, where=where)[0]
            assert [h.id for h in hits] == oracle(runtime, query, where, k), (terms, k)
            assert all(where.matches(h.metadata) for h in hits)


def test_api_and_cli_apply_filters(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    client = create_app(runtime=runtime).test_client()
    form = {
        "image": (io.BytesIO(_png(7)), "q.png"),
        "k": "4",
        "filter": ["category:a", "year:2021"],
    }
    body = client.post("/api/v1/search", data=form).get_json()
    assert len(body["results"]) == 4
    for hit in body["results"]:
        assert hit["metadata"]["category"] == "a" and hit["metadata"]["year"] == 2021

    ids = {Path(h.uri).name: h.id for h in runtime.engine.search_image(_png(1), k=N).hits}
    rare = [ids["img_0005.png"], ids["img_0031.png"]]
    similar = client.get(f"/api/v1/images/{ids['img_0006.png']}/similar?k=20&filter=category:rare")
    assert sorted(h["id"] for h in similar.get_json()["results"]) == sorted(rare)
    itself = client.get(f"/api/v1/images/{rare[0]}/similar?k=20&filter=category:rare")
    assert [h["id"] for h in itself.get_json()["results"]] == [rare[1]]  # never the query

    bad = client.get("/api/v1/images/6/similar?filter=nocolon")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_filter"

    query = Path(runtime.settings.home).parent / "q.png"
    query.write_bytes(_png(8))
    code = cli_commands.search(
        runtime.settings, [str(query)], k=3, as_json=True, filters=["tags:red"]
    )
    answer = json.loads(capsys.readouterr().out)["queries"][0]
    assert code == 0 and len(answer["results"]) == 3
    assert all("red" in hit["metadata"]["tags"] for hit in answer["results"])


def test_filter_parsing_and_matching() -> None:
    where = MetadataFilter.parse(["url:http://x/y", "n:3", "ok:false", "tag:a"])
    assert where.terms[0] == ("url", "http://x/y")
    assert where.matches({"url": "http://x/y", "n": 3, "ok": False, "tag": ["b", "a"]})
    assert not where.matches({"url": "http://x/y", "n": "3.0", "ok": False, "tag": ["a"]})
    assert not where.matches({"n": 3, "ok": False, "tag": "a"})  # url missing
    assert not MetadataFilter.parse([]) and MetadataFilter().matches(None)
    for bad in ("nocolon", ":value", " :v"):
        with pytest.raises(InvalidFilterError):
            MetadataFilter.parse([bad])


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    make_image(seed).save(out, format="PNG")
    return out.getvalue()
