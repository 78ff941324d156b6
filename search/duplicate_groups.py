"""Tight near-duplicate groups from scored links: no group is chained through intermediates.

The rule (greedy star grouping): links at or above the threshold form a graph; images are
taken in order of their number of links (most first; ties: the higher sum of link scores,
then the lower id). An image not yet in a group becomes the representative of a new group
whose members are its linked images not yet in a group. So every member scores at or above
the threshold against its group's representative (two members may score less against each
other); an image linked only to members of other groups stays out of every group. Linked
images a-b-c with a-c below the threshold are never one group unless b represents it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    score: float


@dataclass(frozen=True)
class Star:
    representative: int
    members: list[tuple[int, Link]]  # the representative first (score 1.0), then by score


class Links:
    """The best-scoring link of each pair of images, found from either end."""

    def __init__(self) -> None:
        self._best: dict[tuple[int, int], Link] = {}

    def __len__(self) -> int:
        return len(self._best)

    def add(self, a: int, b: int, score: float) -> None:
        """Record that images `a` and `b` score `score`; keep the higher score of a pair."""
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        best = self._best.get(key)
        if best is None or score > best.score:
            self._best[key] = Link(score)

    def graph(self, threshold: float) -> dict[int, dict[int, Link]]:
        """Each image's links at or above `threshold`, from either end."""
        graph: dict[int, dict[int, Link]] = defaultdict(dict)
        for (a, b), link in self._best.items():
            if link.score >= threshold:
                graph[a][b] = link
                graph[b][a] = link
        return graph


def tight_groups(links: Links, threshold: float) -> list[Star]:
    """Star groups of images linked at or above `threshold` (the rule in the module doc)."""
    graph = links.graph(threshold)
    order = sorted(
        graph, key=lambda i: (-len(graph[i]), -sum(v.score for v in graph[i].values()), i)
    )
    grouped: set[int] = set()
    stars = []
    for rep in order:
        if rep in grouped:
            continue
        free = [(j, link) for j, link in graph[rep].items() if j not in grouped]
        if not free:
            continue
        free.sort(key=lambda m: (-m[1].score, m[0]))
        grouped.update([rep, *(j for j, _ in free)])
        stars.append(Star(rep, [(rep, Link(1.0)), *free]))
    return stars
