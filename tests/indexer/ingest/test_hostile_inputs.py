"""Hostile and awkward files: each decodes or gets its typed error; a bulk job carries on."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.catalog.database import make_session_factory
from indexer.catalog.errors import ImageError
from indexer.catalog.settings import Settings
from indexer.encoder.decode import IMAGE_SUFFIXES, decode_image
from indexer.ingest.jobs import job_progress
from tests.conftest import index_folder, write_images
from tests.hostile import ACCEPTED, REFUSED, Case, corpus

LIMIT = 64_000_000


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_awkward_but_valid_files_decode_to_rgb(case: Case) -> None:
    image = decode_image(case.data, max_pixels=LIMIT)
    assert image.mode == "RGB" and image.width > 0 and image.height > 0


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_hostile_files_get_a_typed_error_with_a_reason(case: Case) -> None:
    with pytest.raises(ImageError) as info:
        decode_image(case.data, max_pixels=LIMIT)
    assert info.value.status == case.status
    assert case.reason in info.value.message


def test_exif_orientation_is_upright() -> None:
    rotated = next(c for c in ACCEPTED if c.name == "exif-rotated.jpg")
    assert decode_image(rotated.data, max_pixels=LIMIT).size == (40, 80)  # stored 80 x 40


def bulk_name(case: Case) -> str:
    return case.name if Path(case.name).suffix in IMAGE_SUFFIXES else f"{case.name}.png"


def test_a_bulk_job_lists_each_bad_file_and_indexes_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "junk"
    good = write_images(folder, range(3))
    (folder / "notes.txt").write_text("not an image extension: never picked up")
    for case in corpus():  # under an image extension, so the content itself is judged
        (folder / bulk_name(case)).write_bytes(case.data)
    job_id = index_folder(settings, folder)
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        progress = job_progress(session, job_id, with_failures=True)
    reasons = {Path(uri).name: reason for uri, reason in progress.failures}
    assert set(reasons) == {bulk_name(c) for c in REFUSED}
    for case in REFUSED:
        assert case.reason in reasons[bulk_name(case)]
    assert progress.indexed + progress.duplicates == len(good) + len(ACCEPTED)
    assert progress.status == "done" and progress.pending == 0
    sessions.kw["bind"].dispose()
