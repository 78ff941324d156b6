"""Occlusion attribution and the deletion curve, against brute-force loops and models whose
answer is known."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from indexer.encoder.attribution import (
    NEUTRAL,
    DeletionCurve,
    blanked,
    cell_edges,
    deletion_curve,
    occlusion_drops,
    occlusion_pair,
)

RNG = np.random.default_rng(0)
PROJECTION = RNG.normal(size=(3 * 20 * 20, 8)).astype(np.float32)
BIAS = RNG.normal(size=8).astype(np.float32)  # a blank input still has a direction


def linear(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """A fixed random affine encoder of (3, 20, 20) inputs, unit outputs (B, 8)."""
    out = np.stack(arrays).reshape(len(arrays), -1) @ PROJECTION + BIAS
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def corner(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """An encoder that sees only the top-left 5x5 pixels (2-d: their mean and a constant)."""
    means = np.array([a[:, :5, :5].mean() for a in arrays], dtype=np.float32)
    out = np.stack([means, np.ones_like(means)], axis=1)  # (B, 2)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_cells_cover_the_input_exactly() -> None:
    assert cell_edges(20, 3).tolist() == [0, 7, 13, 20]
    image = np.ones((3, 20, 20), np.float32)
    everything = blanked(image, range(9), 3)
    assert np.all(everything == NEUTRAL) and np.all(image == 1)  # a copy
    one = blanked(image, [5], 3)  # row 1, column 2
    assert np.all(one[:, 7:13, 13:20] == NEUTRAL) and (one == NEUTRAL).sum() == 3 * 6 * 7


@pytest.mark.parametrize("grid", [1, 4, 7])
def test_drops_match_a_one_cell_at_a_time_loop(grid: int) -> None:
    image, other = RNG.normal(size=(2, 3, 20, 20)).astype(np.float32)
    target = linear([other])[0]
    drops = occlusion_drops(linear, image, target, grid)
    base = float(linear([image])[0] @ target)
    expected = [
        base - float(linear([blanked(image, [c], grid)])[0] @ target) for c in range(grid**2)
    ]
    assert drops.shape == (grid, grid)
    np.testing.assert_allclose(drops.ravel(), expected, atol=1e-5)


def test_only_the_cells_the_model_sees_get_attribution() -> None:
    image = np.full((3, 20, 20), 2.0, np.float32)
    other = unit(np.array([1.0, 1.0], np.float32))
    drops = occlusion_drops(corner, image, other, 4)  # cells of 5x5 pixels
    assert drops[0, 0] > 0.1
    assert np.allclose(np.delete(drops.ravel(), 0), 0, atol=1e-6)


def test_a_pair_explains_each_side_against_the_other() -> None:
    first, second = RNG.normal(size=(2, 3, 20, 20)).astype(np.float32)
    found = occlusion_pair(linear, first, second, grid=3)
    a, b = linear([first, second])
    assert found.similarity == pytest.approx(float(a @ b), abs=1e-6)
    np.testing.assert_allclose(found.first, occlusion_drops(linear, first, b, 3), atol=1e-6)
    np.testing.assert_allclose(found.second, occlusion_drops(linear, second, a, 3), atol=1e-6)
    same = occlusion_pair(linear, first, first, grid=3)
    assert same.similarity == pytest.approx(1.0, abs=1e-5)
    assert np.all(same.first >= -1e-5)  # nothing makes an image more like itself


def test_the_deletion_curve_blanks_cumulatively_in_order() -> None:
    image, other = RNG.normal(size=(2, 3, 20, 20)).astype(np.float32)
    target = linear([other])[0]
    order = list(RNG.permutation(16))
    curve = deletion_curve(linear, image, target, order, grid=4, step=5)
    assert curve.deleted.tolist() == pytest.approx([0, 5 / 16, 10 / 16, 15 / 16, 1])
    expected = [
        float(linear([blanked(image, order[:k], 4)])[0] @ target) for k in (0, 5, 10, 15, 16)
    ]
    np.testing.assert_allclose(curve.similarity, expected, atol=1e-5)
    with pytest.raises(ValueError, match="permutation"):
        deletion_curve(linear, image, target, [0, 0, 1], grid=4)


def test_the_area_is_the_trapezoid_integral() -> None:
    flat = DeletionCurve(np.array([0, 0.5, 1.0]), np.array([0.8, 0.8, 0.8]))
    assert flat.area() == pytest.approx(0.8)
    falling = DeletionCurve(np.array([0, 0.25, 1.0]), np.array([1.0, 0.0, 0.0]))
    assert falling.area() == pytest.approx(0.125)


@pytest.mark.parametrize("grid", [0, 13])
def test_grid_sizes_are_bounded(grid: int) -> None:
    image = np.zeros((3, 20, 20), np.float32)
    with pytest.raises(ValueError, match="grid"):
        occlusion_drops(linear, image, np.ones(8, np.float32), grid)
