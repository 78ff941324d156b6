"""A real quality floor: the default pretrained model on caltech101-7, held-out queries.

Measured, not a tautology: every 5th image per category is held out of the catalog and used
as a query; its nearest indexed image should mostly be of its own category.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import index_folder, labelled


def split() -> tuple[list[Path], list[tuple[Path, str]]]:
    catalog, queries = [], []
    for label, paths in labelled("caltech101-7").items():
        for i, path in enumerate(paths):
            (queries.append((path, label)) if i % 5 == 0 else catalog.append(path))
    return catalog, queries


def average_precision(relevant: list[bool], total_relevant: int) -> float:
    hits, precisions = 0, []
    for rank, is_relevant in enumerate(relevant, 1):
        if is_relevant:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / total_relevant


@pytest.mark.slow
@pytest.mark.shared_data("caltech101-7")
def test_held_out_queries_find_their_category(tmp_path: Path) -> None:
    catalog, queries = split()
    label_of = {str(p.resolve()): p.parent.name for p in catalog}
    settings = Settings.from_env({"LOOKALIKE_HOME": str(tmp_path), "LOOKALIKE_DEVICE": "cpu"})
    index_folder(settings, *catalog)
    engine = build_runtime(settings, load="now").engine
    per_label_p1: dict[str, list[float]] = defaultdict(list)
    aps = []
    for path, label in queries:
        hits = engine.search_image(path.read_bytes(), k=len(catalog)).hits
        relevant = [label_of[h.uri] == label for h in hits]
        per_label_p1[label].append(float(relevant[0]))
        aps.append(average_precision(relevant, sum(v == label for v in label_of.values())))
    p_at_1 = float(np.mean([v for vs in per_label_p1.values() for v in vs]))
    macro_p_at_1 = float(np.mean([np.mean(vs) for vs in per_label_p1.values()]))
    mean_ap = float(np.mean(aps))
    print(json.dumps({"P@1": p_at_1, "macro P@1": macro_p_at_1, "mAP": mean_ap}))
    assert p_at_1 >= 0.9
    assert macro_p_at_1 >= 0.9
    assert mean_ap >= 0.8
