"""Star groups of near duplicates: no chaining, every member within the threshold of its
representative (checked against the pairwise scores of hand-made vectors)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from search.duplicate_groups import Links, tight_groups


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def all_links(vectors: np.ndarray, floor: float = -1.0) -> Links:
    links = Links()
    scores = vectors @ vectors.T
    for a, b in itertools.combinations(range(len(vectors)), 2):
        if scores[a, b] >= floor:
            links.add(a, b, float(scores[a, b]))
    return links


def chain(angles_deg: list[float]) -> np.ndarray:
    """Unit vectors in the plane at these angles: neighbours close, the ends far apart."""
    return unit(*[[np.cos(np.radians(a)), np.sin(np.radians(a))] for a in angles_deg])


def test_a_chain_is_not_one_group() -> None:
    # a-b, b-c, c-d score cos 20° = 0.94; a-c and b-d cos 40° = 0.77, below the threshold.
    # Union-find made one group a-b-c-d; here a and d (cos 60° = 0.5) never share a group.
    vectors = chain([0, 20, 40, 60])
    stars = tight_groups(all_links(vectors), 0.9)
    groups = [sorted(i for i, _ in s.members) for s in stars]
    assert groups == [[0, 1, 2]]  # b represents a and c; d's only free neighbour was taken
    assert not any({0, 3} <= set(g) for g in groups)


def test_a_middle_image_may_represent_both_ends() -> None:
    # a-b-c with a-c below the threshold is one group only because b represents it: every
    # member is within the threshold of the representative (the rule), not of each other.
    vectors = chain([0, 20, 40])
    stars = tight_groups(all_links(vectors), 0.9)
    assert [(s.representative, sorted(i for i, _ in s.members)) for s in stars] == [(1, [0, 1, 2])]


def test_a_long_chain_splits_into_stars() -> None:
    # 0, 20, ..., 200 degrees: union-find would make one group of 11 spanning 200°.
    vectors = chain([20.0 * i for i in range(11)])
    stars = tight_groups(all_links(vectors), 0.9)
    assert len(stars) > 1 and all(len(s.members) <= 3 for s in stars)
    grouped = [i for s in stars for i, _ in s.members]
    assert len(grouped) == len(set(grouped))  # each image in one group at most


@pytest.mark.parametrize("seed", range(5))
def test_oracle_every_member_within_the_threshold_of_its_representative(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 8))
    vectors = unit(*(centres[rng.integers(0, 6)] + 0.35 * rng.normal(size=8) for _ in range(60)))
    threshold = 0.9
    scores = vectors @ vectors.T
    stars = tight_groups(all_links(vectors, floor=0.5), threshold)
    seen: set[int] = set()
    for star in stars:
        ids = [i for i, _ in star.members]
        assert ids[0] == star.representative and len(ids) > 1
        assert not seen & set(ids)
        seen |= set(ids)
        for member, link in star.members[1:]:
            assert scores[star.representative, member] >= threshold
            assert link.score == pytest.approx(scores[star.representative, member], abs=1e-6)
    # Nothing left out could have joined: an ungrouped image has no ungrouped neighbour.
    loose = set(range(len(vectors))) - seen
    for a, b in itertools.combinations(sorted(loose), 2):
        assert scores[a, b] < threshold


def test_the_best_linked_image_represents_its_group() -> None:
    # An original (0) and three edited copies, each close to it and less close to each other.
    vectors = unit([1, 0, 0, 0], [1, 0.3, 0, 0], [1, 0, 0.3, 0], [1, 0, 0, 0.3])
    stars = tight_groups(all_links(vectors), 0.9)
    assert len(stars) == 1 and stars[0].representative == 0
    assert [i for i, _ in stars[0].members] == [0, 1, 2, 3]


def test_links_keep_the_best_score_from_either_end() -> None:
    links = Links()
    links.add(5, 2, 0.91)
    links.add(2, 5, 0.80)  # the same pair seen from the other end, scoring lower
    links.add(3, 3, 1.0)  # an image and itself is no link
    graph = links.graph(0.9)
    assert graph[5][2].score == pytest.approx(0.91) and graph[2][5].score == pytest.approx(0.91)
    assert len(links) == 1 and links.graph(0.95) == {}
