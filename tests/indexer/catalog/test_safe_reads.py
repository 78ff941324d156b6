"""Careless folders: pipes, devices, huge sparse files, symlink loops, non-UTF-8 names,
unsupported types; reads that never hold SQLite's write lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from indexer.catalog.database import make_session_factory
from indexer.catalog.errors import FileTooLargeError, ImageError
from indexer.catalog.reading import read_bytes
from indexer.catalog.schema import Image
from indexer.catalog.settings import Settings
from indexer.ingest.loading import load_file
from indexer.ingest.scan import scan_paths
from indexer.ingest.sources import collect
from tests.conftest import write_images

REPO = Path(__file__).resolve().parents[3]
NOT_UTF8 = os.fsdecode(b"caf\xe9.png")  # a Latin-1 name on a UTF-8 system


def careless_folder(root: Path) -> dict[str, Path]:
    """Four good images among everything a real folder may hold."""
    good = write_images(root / "good", range(4))
    odd = root / "odd"
    odd.mkdir()
    os.mkfifo(odd / "pipe.jpg")
    (odd / "zero.jpg").symlink_to("/dev/zero")
    with open(odd / "sparse.jpg", "wb") as handle:
        handle.truncate(3 << 30)  # 3 GB of nothing, no disk used
    (odd / "loop-a.png").symlink_to(odd / "loop-b.png")
    (odd / "loop-b.png").symlink_to(odd / "loop-a.png")
    (odd / "dangling.png").symlink_to(odd / "gone.png")
    (odd / NOT_UTF8).write_bytes(good[0].read_bytes())
    (odd / "notes.txt").write_text("not an image")
    (odd / "scan.pcx").write_bytes(b"\x0a\x05\x01\x08")
    return {"good": root / "good", "odd": odd}


def test_scan_reports_each_unusable_file_and_keeps_the_rest(tmp_path: Path) -> None:
    folders = careless_folder(tmp_path)

    result = scan_paths([tmp_path])

    names = {Path(p).name: reason for p, reason in result.errors}
    assert names["pipe.jpg"] == "a named pipe, not a regular file; not read"
    assert names["zero.jpg"] == "a character device, not a regular file; not read"
    assert names["loop-a.png"] == names["loop-b.png"] == "symlink loop"
    assert names["dangling.png"] == "broken symlink"
    assert names["caf\\xe9.png"].startswith("file name is not valid UTF-8")
    skipped = {Path(p).name: reason for p, reason in result.skipped}
    assert skipped == {
        "notes.txt": "unsupported file type .txt",
        "scan.pcx": "unsupported file type .pcx",
    }
    files = {p.name for p in result.files}
    assert files == {p.name for p in folders["good"].iterdir()} | {"sparse.jpg"}


def test_a_manifest_entry_in_a_symlink_loop_is_reported_alone(tmp_path: Path) -> None:
    [good] = write_images(tmp_path, [5])
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    manifest = tmp_path / "list.jsonl"
    manifest.write_text("\n".join(json.dumps({"uri": uri}) for uri in ["a.png", good.name]))

    found = collect([manifest])

    assert [f.path for f in found.files] == [good.resolve()]
    assert found.errors == [(f"{manifest}:1", "symlink loop, or a path that cannot be resolved")]


def test_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.jpg"
    os.mkfifo(pipe)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(outcome, read_bytes, pipe), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "reading a named pipe hung"
    assert "a named pipe" in str(outcome[0])


def test_size_limit_refuses_sparse_files_and_dev_zero(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.jpg"
    with open(sparse, "wb") as handle:
        handle.truncate(3 << 30)
    with pytest.raises(FileTooLargeError, match="LOOKALIKE_MAX_FILE_MB") as info:
        read_bytes(sparse, max_bytes=1 << 20)
    assert info.value.status == 413
    with pytest.raises(ImageError, match="character device"):
        read_bytes(Path("/dev/zero"), max_bytes=1 << 20)


def test_a_catalog_file_swapped_for_a_symlink_is_not_read(tmp_path: Path) -> None:
    [image] = write_images(tmp_path, [1])
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    image.unlink()
    image.symlink_to(secret)

    loaded = load_file(image, draft_size=64, max_pixels=10**7)

    assert loaded.image is None and loaded.sha256 is None
    assert "a symbolic link, not a regular file" in (loaded.error or "")


def test_cli_indexes_a_careless_folder_and_lists_what_it_did_not(
    settings: Settings, tmp_path: Path, tiny_model_path: Path
) -> None:
    careless_folder(tmp_path / "catalog")
    env = _cli_env(settings, tiny_model_path) | {"LOOKALIKE_MAX_FILE_MB": "10"}

    result = subprocess.run(
        [sys.executable, "-m", "web.cli.main", "index", str(tmp_path / "catalog"), "--no-progress"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # some files could not be used: reported, exit 1
    assert "added 4, duplicates skipped 0, already indexed 0, failed 1" in out, out
    assert "not indexed (unsupported) 2" in out, out
    assert "over the file size limit" in out and "a named pipe" in out, out
    assert "symlink loop" in out and "caf\\xe9.png" in out, out
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 5  # 4 + sparse


def test_a_read_never_waits_for_the_write_lock(settings: Settings) -> None:
    sessions = make_session_factory(settings.database_url)
    answered: list[float] = []
    with sessions.begin() as writer:
        writer.add(Image(uri="/x.png", path="/x.png"))
        writer.flush()  # the write lock is held until the block ends

        def read() -> None:
            start = time.monotonic()
            with sessions() as session:
                session.scalar(select(func.count()).select_from(Image))
            answered.append(time.monotonic() - start)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=5)
        assert answered and answered[0] < 2, "a read-only session waited for the write lock"
    with sessions() as session:  # and it saw the last commit, not the open transaction
        assert session.scalar(select(func.count()).select_from(Image)) == 1


def _cli_env(settings: Settings, model: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    inherited.pop("REDIS_URL", None)
    inherited.pop("DATABASE_URL", None)
    return inherited | {
        "LOOKALIKE_HOME": str(settings.home),
        "LOOKALIKE_MODEL": str(model),
        "LOOKALIKE_DEVICE": "cpu",
        "PYTHONPATH": str(REPO),
    }


def _catch(outcome: list[BaseException], fn: object, *args: object) -> None:
    try:
        fn(*args)  # type: ignore[operator]
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        outcome.append(exc)
