"""A full disk under a running API: 507 with nothing left behind, and service after space returns.

The full disk is a real one: a small tmpfs mounted for the test and filled with a filler file,
so writes fail in the kernel with ENOSPC (mounting needs root, as in CI; skipped elsewhere).
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from indexer.catalog.schema import GalleryItem, Image
from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import make_image
from web import create_app


def png(seed: int, size: tuple[int, int] = (96, 80)) -> bytes:
    buffer = io.BytesIO()
    make_image(seed, size).save(buffer, format="PNG")
    return buffer.getvalue()


def fill(folder: Path) -> Path:
    """Take every free byte of the file system holding `folder`; return the filler."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A mounted 16 MiB tmpfs."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"needs permission to mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_upload_on_a_full_disk_is_507_and_leaves_nothing(
    runtime: Runtime, small_disk: Path
) -> None:
    settings = replace(runtime.settings, home=small_disk)  # uploads and feedback on the tmpfs
    client = create_app(runtime=replace(runtime, settings=settings)).test_client()
    fill(small_disk)
    before = _count(runtime, Image)
    form = {"image": (io.BytesIO(png(600, (400, 300))), "new.png"), "uri": "shop://1"}
    response = client.post("/api/v1/images", data=form)
    assert response.status_code == 507, response.get_json()
    assert response.get_json()["error"]["code"] == "insufficient_storage"
    feedback = {"verdict": "right", "result_id": "1", "image": (io.BytesIO(png(601)), "q.png")}
    assert client.post("/api/v1/feedback", data=feedback).status_code == 507
    assert _files(small_disk) == ["filler"]  # no temp file, no half-written upload
    assert _count(runtime, Image) == before  # no row claims the uri
    query = {"image": (io.BytesIO(png(602)), "q.png")}
    assert client.post("/api/v1/search", data=query).status_code == 200  # reads still work
    (small_disk / "filler").unlink()
    retry = {"image": (io.BytesIO(png(600, (400, 300))), "new.png"), "uri": "shop://1"}
    assert client.post("/api/v1/images", data=retry).status_code == 201


def test_database_on_a_full_disk_is_507(settings: Settings, small_disk: Path) -> None:
    """SQLite's own write fails ("database or disk is full"): 507, the catalog unchanged."""
    on_disk = replace(settings, home=small_disk, database_url=f"sqlite:///{small_disk}/db.sqlite")
    runtime = build_runtime(on_disk, load="now")
    client = create_app(runtime=runtime).test_client()
    enrol = {"image": (io.BytesIO(png(610)), "a.png"), "label": "alice"}
    assert client.post("/api/v1/galleries/staff/items", data=enrol).status_code == 201
    filler = fill(small_disk)
    big = {"image": (io.BytesIO(png(611, (900, 700))), "b.png"), "label": "bob"}
    response = client.post("/api/v1/galleries/staff/items", data=big)
    assert response.status_code == 507, response.get_json()
    assert _count(runtime, GalleryItem) == 1
    filler.unlink()
    again = {"image": (io.BytesIO(png(611, (900, 700))), "b.png"), "label": "bob"}
    assert client.post("/api/v1/galleries/staff/items", data=again).status_code == 201
    assert _count(runtime, GalleryItem) == 2
    runtime.sessions.kw["bind"].dispose()


def _count(runtime: Runtime, table: type) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
