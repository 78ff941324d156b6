"""Training data: a folder of images with labels from a CSV, from sub-folders, or none.

The sets are small, so every image is decoded once and kept in memory (downscaled to
`cache_side`). Without labels each image is its own label: the self-supervised mode, in
which positives are augmented views of one image.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.catalog.errors import ConfigError, ImageError
from indexer.encoder.decode import IMAGE_SUFFIXES, decode_image, read_bytes

logger = logging.getLogger(__name__)

Manifest = list[tuple[str, str | None]]  # (relpath, label or None when unlabelled)


@dataclass(frozen=True)
class LabelledSet:
    """Decoded images with integer labels; `supervised=False` means one label per image."""

    root: Path
    relpaths: tuple[str, ...]
    labels: np.ndarray  # (n,) int64 indices into label_names
    label_names: tuple[str, ...]
    images: tuple[Image.Image, ...]
    supervised: bool = True
    sizes: tuple[tuple[int, int], ...] = ()  # (width, height) as decoded; () when unknown

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_labels(self) -> int:
        return len(np.unique(self.labels))

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabelledSet:
        """The images at `indices`, keeping label ids and names."""
        idx = [int(i) for i in indices]
        return LabelledSet(
            root=self.root,
            relpaths=tuple(self.relpaths[i] for i in idx),
            labels=self.labels[idx],
            label_names=self.label_names,
            images=tuple(self.images[i] for i in idx),
            supervised=self.supervised,
            sizes=tuple(self.sizes[i] for i in idx) if self.sizes else (),
        )

    def prepared(self, *, grayscale: bool, cache_side: int) -> LabelledSet:
        """The same images in the model's mode, downscaled to at most `cache_side`."""
        images = tuple(
            _shrink(im.convert("L") if grayscale and im.mode != "L" else im, cache_side)
            for im in self.images
        )
        return replace(self, images=images)


def read_manifest(root: Path, labels_csv: Path | None = None) -> Manifest:
    """List (relpath, label): from `labels_csv`, else `root/labels.csv`, else sub-folders."""
    if labels_csv is None and (root / "labels.csv").is_file():
        labels_csv = root / "labels.csv"
    if labels_csv is not None:
        return _manifest_from_csv(labels_csv)
    return _manifest_from_folders(root)


def _manifest_from_csv(path: Path) -> Manifest:
    if not path.is_file():
        raise ConfigError(f"labels file not found: {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"relpath", "label"} <= set(reader.fieldnames):
            raise ConfigError(f"{path} needs the columns relpath,label")
        return [(row["relpath"], row["label"]) for row in reader if row["relpath"]]


def _manifest_from_folders(root: Path) -> Manifest:
    if not root.is_dir():
        raise ConfigError(f"data folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"no images found under {root}")
    rel = [p.relative_to(root) for p in files]
    if all(len(r.parts) == 1 for r in rel):
        return [(r.as_posix(), None) for r in rel]  # a flat folder: unlabelled
    if any(len(r.parts) == 1 for r in rel):
        raise ConfigError(f"{root} mixes images in sub-folders with images at its top level")
    return [(r.as_posix(), r.parent.as_posix()) for r in rel]


def load_set(
    root: Path,
    manifest: Manifest,
    *,
    max_pixels: int = 64_000_000,
    cache_side: int | None = None,
    grayscale: bool = False,
) -> LabelledSet:
    """Decode every image of `manifest` into memory; undecodable files are skipped, logged."""
    decoded = [
        (relpath, label, image)
        for relpath, label in manifest
        if (image := _decode(root / relpath, max_pixels)) is not None
    ]
    if not decoded:
        raise ConfigError(f"no decodable images under {root}")
    relpaths = [relpath for relpath, _, _ in decoded]
    names = [label for _, label, _ in decoded]
    images = [_shrink(im.convert("L") if grayscale else im, cache_side) for _, _, im in decoded]
    sizes = tuple(im.size for _, _, im in decoded)
    supervised = all(name is not None for name in names)
    keys = [n if supervised else r for n, r in zip(names, relpaths, strict=True)]
    label_names = tuple(sorted(set(keys), key=str))
    lookup = {name: i for i, name in enumerate(label_names)}
    labels = np.asarray([lookup[k] for k in keys], dtype=np.int64)
    return LabelledSet(
        root,
        tuple(relpaths),
        labels,
        tuple(map(str, label_names)),
        tuple(images),
        supervised,
        sizes,
    )


def _decode(path: Path, max_pixels: int) -> Image.Image | None:
    try:
        return decode_image(read_bytes(path), max_pixels=max_pixels)
    except ImageError as exc:
        logger.warning("skipping %s: %s", path, exc.message)
        return None


def _shrink(image: Image.Image, side: int | None) -> Image.Image:
    if side is not None and max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return image


def split_by_label(
    data: LabelledSet,
    val_fraction: float,
    *,
    seed: int,
    group: Callable[[str], str] | None = None,
) -> tuple[LabelledSet, LabelledSet]:
    """Split so no label is in both parts: new labels at validation, as in a growing catalog.

    With `group` (label name -> key), labels of one key stay on one side (a writer's genuine
    signatures and their forgeries).
    """
    codes = np.unique(data.labels)
    names = [group(data.label_names[c]) for c in codes] if group else codes.tolist()
    keys = np.unique(np.asarray(names))
    n_val = int(round(val_fraction * len(keys)))
    if val_fraction > 0:
        n_val = min(max(n_val, 2), len(keys) - 2)
    if n_val < 2:
        return data, data.subset([])
    rng = np.random.default_rng(seed)
    val_keys = set(rng.permutation(keys)[:n_val].tolist())
    val_labels = [c for c, key in zip(codes, names, strict=True) if key in val_keys]
    in_val = np.isin(data.labels, val_labels)
    return data.subset(np.flatnonzero(~in_val)), data.subset(np.flatnonzero(in_val))


def split_by_image(
    data: LabelledSet, val_fraction: float, *, seed: int
) -> tuple[LabelledSet, LabelledSet]:
    """Split each label's images between the parts (the same labels on both sides)."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for label in np.unique(data.labels):
        members = rng.permutation(np.flatnonzero(data.labels == label))
        n_val = int(round(val_fraction * len(members))) if len(members) >= 4 else 0
        val.extend(members[:n_val].tolist())
        train.extend(members[n_val:].tolist())
    return data.subset(sorted(train)), data.subset(sorted(val))
