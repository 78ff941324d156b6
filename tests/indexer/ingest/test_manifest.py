"""Manifests (CSV, JSONL) and source collection: uris, metadata, bad records, roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from indexer.catalog.database import make_session_factory
from indexer.catalog.errors import BadRequestError
from indexer.catalog.schema import Image
from indexer.catalog.settings import Settings
from indexer.ingest.manifest import read_manifest
from indexer.ingest.sources import collect
from tests.conftest import write_images
from web.cli import catalog as cli_commands


def test_csv_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "m" / "items.csv"
    manifest.parent.mkdir()
    manifest.write_text(
        "uri,category,price\n"
        "shoes/a.png,shoes,10\n"
        f"{tmp_path}/abs.png,bags,\n"
        f"file://{tmp_path}/with%20space.png,hats,3\n"
        ",socks,1\n"
        "x.png,too,many,cells\n"
        "s3://bucket/key.png,remote,1\n"
    )
    parsed = read_manifest(manifest)
    assert [(e.path, e.metadata) for e in parsed.entries] == [
        (tmp_path / "m" / "shoes" / "a.png", {"category": "shoes", "price": "10"}),
        (tmp_path / "abs.png", {"category": "bags"}),  # an empty cell is left out
        (tmp_path / "with space.png", {"category": "hats", "price": "3"}),
    ]
    assert parsed.entries[0].uri == "shoes/a.png"
    reasons = [(where.rsplit(":", 1)[1], reason) for where, reason in parsed.errors]
    assert reasons[0] == ("5", "missing uri")
    assert reasons[1] == ("6", "more cells than header columns")
    assert reasons[2][0] == "7" and "unsupported uri scheme 's3'" in reasons[2][1]


def test_jsonl_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "items.jsonl"
    lines = [
        json.dumps({"uri": "a.png", "category": "shoes", "tags": ["red", "new"], "year": 2021}),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"category": "no uri"}),
        json.dumps({"uri": "sub/../b.png", "nested": {"k": 1}}),
    ]
    manifest.write_text("\n".join(lines) + "\n")
    parsed = read_manifest(manifest)
    assert [(e.path, e.metadata) for e in parsed.entries] == [
        (tmp_path / "a.png", {"category": "shoes", "tags": ["red", "new"], "year": 2021}),
        (tmp_path / "b.png", {"nested": {"k": 1}}),
    ]
    assert [where.rsplit(":", 1)[1] for where, _ in parsed.errors] == ["3", "4", "5"]
    assert "invalid JSON" in parsed.errors[0][1]


def test_bad_manifest_files_raise(tmp_path: Path) -> None:
    no_uri = tmp_path / "bad.csv"
    no_uri.write_text("path,category\na.png,x\n")
    with pytest.raises(BadRequestError, match="'uri' column"):
        read_manifest(no_uri)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(BadRequestError, match="cannot read"):
        read_manifest(binary)


def test_collect_applies_roots_to_every_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    inside = write_images(root / "cat", range(2))
    outside = write_images(tmp_path / "out", [9])[0]
    (root / "cat" / "link.png").symlink_to(outside)
    manifest = root / "m.jsonl"
    records = [
        {"uri": "cat/img_0000.png", "k": 1},
        {"uri": str(outside)},
        {"uri": "cat/img_0000.png"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))

    found = collect([root / "cat", manifest], roots=(root.resolve(),))

    assert [f.path for f in found.files] == [p.resolve() for p in inside]
    assert all(f.metadata is None for f in found.files)  # the folder came first
    reasons = {Path(where).name: reason for where, reason in found.errors}
    assert reasons[outside.name] == "outside the allowed source roots"
    assert reasons["img_0000.png"] == "listed more than once"
    assert collect([root / "cat"]).files[-1].path == outside.resolve()  # the CLI has no roots


def test_cli_indexes_a_manifest_with_metadata(settings: Settings, tmp_path: Path) -> None:
    write_images(tmp_path / "cat", range(4))
    manifest = tmp_path / "cat" / "items.csv"
    rows = [f"img_{i:04d}.png,{'shoes' if i < 2 else 'bags'}" for i in range(4)]
    manifest.write_text("uri,category\n" + "\n".join(rows) + "\n")

    code = cli_commands.index(settings, [str(manifest)], chunk_size=2, progress=False)

    assert code == 0
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        stored = {Path(r.uri).name: r.meta for r in session.scalars(select(Image))}
    sessions.kw["bind"].dispose()
    assert stored == {
        f"img_{i:04d}.png": {"category": "shoes" if i < 2 else "bags"} for i in range(4)
    }
