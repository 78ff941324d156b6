"""Pair precision, pair recall and group purity of near-duplicate groups against the truth.

The truth is one source per image: an original and its copies share a source, every other
image (a distractor) is its own. True pairs are all pairs of images of one source (original-
copy and copy-copy); predicted pairs are all pairs of images in one group. Purity is the
share of grouped images that belong to their group's most common source.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations

Key = Hashable


def _pairs(groups: Sequence[Sequence[Key]]) -> set[frozenset[Key]]:
    return {frozenset(p) for g in groups for p in combinations(g, 2)}


def score_groups(
    groups: Sequence[Sequence[Key]],
    source: Mapping[Key, Key],
    transform: Mapping[Key, str],
) -> dict[str, float]:
    """Pair precision/recall, purity, and the recall of original-copy pairs per transform.

    `source` maps every image to its source: an original and its copies to the original, any
    other image to itself. `transform` maps each copy to the name of its transform."""
    by_source: dict[Key, list[Key]] = defaultdict(list)
    for key, src in source.items():
        by_source[src].append(key)
    truth = _pairs(list(by_source.values()))
    predicted = _pairs(groups)
    hit = len(truth & predicted)
    grouped = sum(len(g) for g in groups)
    majority = sum(Counter(source[k] for k in g).most_common(1)[0][1] for g in groups if g)
    out = {
        "precision": hit / len(predicted) if predicted else 1.0,
        "recall": hit / len(truth) if truth else 1.0,
        "purity": majority / grouped if grouped else 1.0,
        "groups": float(len(groups)),
        "predicted_pairs": float(len(predicted)),
        "true_pairs": float(len(truth)),
    }
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for copy, name in transform.items():
        total[name] += 1
        found[name] += frozenset((copy, source[copy])) in predicted
    out |= {f"recall_{name}": found[name] / total[name] for name in sorted(total)}
    return out


def f1(metrics: Mapping[str, float]) -> float:
    p, r = metrics["precision"], metrics["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0
