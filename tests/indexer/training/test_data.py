"""Loading labelled folders (CSV, sub-folders, unlabelled) and the train/validation splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.catalog.errors import ConfigError
from indexer.training.data import (
    load_set,
    read_manifest,
    split_by_image,
    split_by_label,
)
from tests.conftest import SHARED_DATA, write_images


@pytest.fixture
def folder_set(tmp_path: Path) -> Path:
    """Five labels (sub-folders) of four images each, one of them nested two levels deep."""
    for k, name in enumerate(["cats", "dogs", "cups", "hats", "deep/er"]):
        write_images(tmp_path / name, range(10 * k, 10 * k + 4))
    return tmp_path


def test_labels_from_sub_folders(folder_set: Path) -> None:
    manifest = read_manifest(folder_set)
    assert len(manifest) == 20
    assert ("deep/er/img_0040.png", "deep/er") in manifest
    data = load_set(folder_set, manifest)
    assert data.supervised and len(data) == 20 and data.num_labels == 5
    cats = [data.relpaths[i] for i in np.flatnonzero(data.labels == data.label_names.index("cats"))]
    assert sorted(cats) == [f"cats/img_000{i}.png" for i in range(4)]


def test_labels_from_csv_override_folders(folder_set: Path, tmp_path: Path) -> None:
    csv = tmp_path / "mine.csv"
    csv.write_text("relpath,label\ncats/img_0000.png,a\ndogs/img_0010.png,a\nhats/img_0030.png,b\n")
    data = load_set(folder_set, read_manifest(folder_set, csv))
    assert data.relpaths == ("cats/img_0000.png", "dogs/img_0010.png", "hats/img_0030.png")
    assert data.labels.tolist() == [0, 0, 1] and data.label_names == ("a", "b")


def test_labels_csv_in_the_folder_is_found(tmp_path: Path) -> None:
    write_images(tmp_path, range(3))
    (tmp_path / "labels.csv").write_text(
        "relpath,label\nimg_0000.png,x\nimg_0001.png,y\nimg_0002.png,x\n"
    )
    data = load_set(tmp_path, read_manifest(tmp_path))
    assert data.supervised and data.labels.tolist() == [0, 1, 0]


@pytest.mark.shared_data("caltech101-7")
def test_shared_csv_format_reads(tmp_path: Path) -> None:
    root = SHARED_DATA / "caltech101-7"
    manifest = read_manifest(root)
    assert len(manifest) == 761 and {label for _, label in manifest} >= {"pizza", "cup"}


def test_flat_folder_is_unlabelled(tmp_path: Path) -> None:
    write_images(tmp_path, range(5))
    data = load_set(tmp_path, read_manifest(tmp_path), grayscale=True, cache_side=40)
    assert not data.supervised
    assert sorted(data.labels.tolist()) == [0, 1, 2, 3, 4]  # one label per image
    assert all(im.mode == "L" and max(im.size) <= 40 for im in data.images)


def test_bad_inputs_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_manifest(tmp_path / "missing")
    with pytest.raises(ConfigError):
        read_manifest(tmp_path, tmp_path / "nope.csv")
    write_images(tmp_path, range(2))
    write_images(tmp_path / "sub", range(2, 4))
    with pytest.raises(ConfigError, match="mixes"):
        read_manifest(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,class\na.png,x\n")
    with pytest.raises(ConfigError, match="relpath,label"):
        read_manifest(tmp_path, bad)


def test_undecodable_files_are_skipped(folder_set: Path) -> None:
    (folder_set / "cats" / "broken.png").write_bytes(b"not an image")
    data = load_set(folder_set, read_manifest(folder_set))
    assert len(data) == 20 and "cats/broken.png" not in data.relpaths


def test_label_split_is_disjoint_seeded_and_complete(folder_set: Path) -> None:
    data = load_set(folder_set, read_manifest(folder_set))
    train, val = split_by_label(data, 0.4, seed=1)
    assert set(train.labels.tolist()).isdisjoint(val.labels.tolist())
    assert val.num_labels == 2 and train.num_labels == 3
    assert sorted(train.relpaths + val.relpaths) == sorted(data.relpaths)
    again, _ = split_by_label(data, 0.4, seed=1)
    assert again.relpaths == train.relpaths
    others = {split_by_label(data, 0.4, seed=s)[1].relpaths for s in range(6)}
    assert len(others) > 1  # the seed chooses the validation labels


def test_image_split_keeps_every_label_on_both_sides(folder_set: Path) -> None:
    data = load_set(folder_set, read_manifest(folder_set))
    train, val = split_by_image(data, 0.5, seed=0)
    assert set(train.labels.tolist()) == set(val.labels.tolist()) == set(range(5))
    assert set(train.relpaths).isdisjoint(val.relpaths) and len(train) + len(val) == 20
