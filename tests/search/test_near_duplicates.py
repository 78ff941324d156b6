"""find_duplicates over a real embedded catalog: edited copies (turned, mirrored, cropped,
re-toned, re-compressed) group with their original as stars, verified on pixels; a file
that cannot be read keeps its embedding score."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageEnhance

from indexer.catalog.settings import Settings
from search.near_duplicates import DEFAULT_THRESHOLD, find_duplicates
from search.runtime import build_runtime
from tests.conftest import index_folder, make_image


def names(group: object) -> list[str]:
    return sorted(Path(m.uri).name for m in group.members)  # type: ignore[attr-defined]


def test_edited_copies_group_with_their_original(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "copies"
    folder.mkdir()
    for seed in range(6):
        make_image(seed, (120, 96)).save(folder / f"img{seed}.png")
    original = make_image(1, (120, 96))
    original.transpose(Image.Transpose.ROTATE_90).save(folder / "left.png")
    original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "mirror.png")
    original.crop((6, 5, 108, 87)).save(folder / "crop.png")
    ImageEnhance.Brightness(original).enhance(0.7).save(folder / "dark.jpg", quality=50)
    index_folder(settings, folder)
    engine = build_runtime(settings, load="now").engine

    report = find_duplicates(engine, threshold=DEFAULT_THRESHOLD)
    assert report.unreadable == 0 and report.verified >= 4
    assert [names(g) for g in report.near] == [
        ["crop.png", "dark.jpg", "img1.png", "left.png", "mirror.png"]
    ]
    group = report.near[0]
    rep = group.members[0]
    assert rep.id == group.representative and rep.score == 1.0
    assert all(m.score >= DEFAULT_THRESHOLD for m in group.members)
    assert group.score == min(m.score for m in group.members)


def test_a_missing_file_keeps_its_embedding_score(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    for seed in range(4):
        make_image(seed, (96, 80)).save(folder / f"img{seed}.png")
    make_image(2, (96, 80)).save(folder / "same2.png", compress_level=1)  # same pixels
    index_folder(settings, folder)
    (folder / "img2.png").unlink()
    engine = build_runtime(settings, load="now").engine
    report = find_duplicates(engine, threshold=0.999)
    assert report.unreadable == 1
    assert [names(g) for g in report.near] == [["img2.png", "same2.png"]]
