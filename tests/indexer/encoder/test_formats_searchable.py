"""Grey PGM, 1-bit PBM, colour PPM, HEIC and AVIF files written by real encoders (Pillow,
pillow-heif) are found by a folder scan, indexed, and each finds itself first."""

from __future__ import annotations

from pathlib import Path

import pillow_heif
import pytest

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import index_folder, make_image

FILES = {
    "grey.pgm": ("PPM", "L"),
    "bits.pbm": ("PPM", "1"),
    "colour.ppm": ("PPM", "RGB"),
    "photo.heic": ("HEIF", "RGB"),
    "photo.avif": ("AVIF", "RGB"),
}


def test_new_formats_are_indexed_and_searchable(settings: Settings, tmp_path: Path) -> None:
    pillow_heif.register_heif_opener()  # the HEIF encoder
    folder = tmp_path / "formats"
    folder.mkdir()
    for seed, (name, (fmt, mode)) in enumerate(FILES.items()):
        make_image(40 + seed, (120, 90)).convert(mode).save(folder / name, format=fmt)

    index_folder(settings, folder)

    runtime = build_runtime(settings, load="now")
    try:
        assert runtime.index_sync.status().size == len(FILES)
        for name in FILES:
            hits = runtime.engine.search_image((folder / name).read_bytes(), k=1).hits
            assert Path(hits[0].uri).name == name
            assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.sessions.kw["bind"].dispose()
