"""Verification pairs beyond "same label or not": listed in a CSV, or genuine vs forgery.

A `Pairs` holds row indices into an evaluated set and whether each pair is "the same".
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.catalog.errors import ConfigError

SAME_COLUMNS = ("same", "same_person", "same_label", "label")


@dataclass(frozen=True)
class Pairs:
    """Pairs of rows (first[i], second[i]), each (p,) int64, with `same` (p,) bool."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)


def _pairs(rows: list[tuple[int, int, bool]]) -> Pairs:
    array = np.asarray([(a, b) for a, b, _ in rows], dtype=np.int64).reshape(-1, 2)
    same = np.asarray([s for _, _, s in rows], dtype=bool)
    return Pairs(array[:, 0], array[:, 1], same)


def pairs_from_csv(path: Path, relpaths: Sequence[str]) -> Pairs:
    """Read `relpath1,relpath2,<same>` rows (same: 1/0) as pairs of rows of `relpaths`.

    The same column may be named same, same_person, same_label or label. Rows naming an
    image that is not in `relpaths` (not evaluated, or undecodable) are left out.
    """
    if not path.is_file():
        raise ConfigError(f"pairs file not found: {path}")
    row_of = {relpath: i for i, relpath in enumerate(relpaths)}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        flag = next((c for c in SAME_COLUMNS if c in columns), None)
        if not {"relpath1", "relpath2"} <= columns or flag is None:
            raise ConfigError(f"{path} needs the columns relpath1,relpath2,same")
        rows = [
            (row_of[r["relpath1"]], row_of[r["relpath2"]], r[flag].strip().lower() in ("1", "true"))
            for r in reader
            if r["relpath1"] in row_of and r["relpath2"] in row_of
        ]
    if not rows:
        raise ConfigError(f"no pair in {path} names two evaluated images")
    return _pairs(rows)


FORGERY_SUFFIX = "_forg"
MIN_FORGED_WRITERS = 2


def forgery_suffix_in(labels: Sequence[str], suffix: str = FORGERY_SUFFIX) -> str | None:
    """`suffix` when at least two labels W have forgeries labelled `W + suffix`, else None."""
    names = set(labels)
    forged = [n for n in names if n.endswith(suffix) and n.removesuffix(suffix) in names]
    return suffix if len(forged) >= MIN_FORGED_WRITERS else None


def writer_of(label: str, suffix: str | None) -> str:
    """The writer a label belongs to: "012_forg" -> "012" (the label itself without suffix)."""
    return label.removesuffix(suffix) if suffix else label


def forgery_pairs(labels: Sequence[str], *, suffix: str = "_forg") -> Pairs:
    """Skilled-forgery protocol, per writer W: genuine-genuine pairs of label W are "same",
    genuine W vs forgery `W + suffix` pairs are "different"; pairs never mix writers.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        members[str(label)].append(i)
    rows: list[tuple[int, int, bool]] = []
    for writer, genuine in members.items():
        if writer.endswith(suffix):
            continue
        rows += [(a, b, True) for k, a in enumerate(genuine) for b in genuine[k + 1 :]]
        rows += [(a, b, False) for a in genuine for b in members.get(writer + suffix, [])]
    if not any(s for _, _, s in rows) or all(s for _, _, s in rows):
        raise ConfigError(f"need writers with two genuine items and forgeries labelled *{suffix}")
    return _pairs(rows)
