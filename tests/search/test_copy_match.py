"""Copy scores on pixels: edited copies of a picture verify above the default threshold,
different pictures below, and the vectorised search matches a brute-force loop."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from search.copy_match import (
    SCALES,
    SIDE,
    copy_scores,
    dihedral,
    shrink_matrix,
    signature_pairs,
    thumbnail,
)
from search.near_duplicates import DEFAULT_THRESHOLD
from tests.conftest import make_image


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def captioned(image: Image.Image) -> Image.Image:
    copy = image.copy()
    w, h = copy.size
    ImageDraw.Draw(copy).text((w // 6, int(h * 0.75)), "© lookalike", fill=(255, 255, 255))
    return copy


EDITS = {
    "resize": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BICUBIC),
    "jpeg q20": lambda im: jpeg(im, 20),
    "crop 85%": lambda im: im.crop((10, 4, 10 + int(im.width * 0.85), 4 + int(im.height * 0.85))),
    "crop 80%": lambda im: im.crop((0, 16, int(im.width * 0.8), 16 + int(im.height * 0.8))),
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "turn 90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "turn 270": lambda im: im.transpose(Image.Transpose.ROTATE_270),
    "upside down": lambda im: im.transpose(Image.Transpose.ROTATE_180),
    "tone": lambda im: ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(1.3)).enhance(0.7),
    "caption": captioned,
}


def score(a: Image.Image, b: Image.Image) -> float:
    return float(copy_scores(np.stack([thumbnail(a), thumbnail(b)]), np.array([[0, 1]]))[0])


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_copy_verifies_above_the_default_threshold(edit: str) -> None:
    original = make_image(3, (160, 120))
    assert score(original, EDITS[edit](original)) >= DEFAULT_THRESHOLD
    assert score(EDITS[edit](original), original) >= DEFAULT_THRESHOLD  # either way round


def test_different_pictures_score_below_the_default_threshold() -> None:
    pictures = [make_image(seed, (160, 120)) for seed in range(8)]
    thumbs = np.stack([thumbnail(p) for p in pictures])
    pairs = np.array(list(itertools.combinations(range(len(pictures)), 2)))
    assert copy_scores(thumbs, pairs).max() < DEFAULT_THRESHOLD


def test_a_flat_image_scores_zero() -> None:
    flat = Image.new("RGB", (64, 64), (90, 90, 90))
    assert score(flat, make_image(1)) == 0.0 and score(flat, flat) == 0.0


def brute_force(a: np.ndarray, b: np.ndarray) -> float:
    """The copy score by loops: every scale, pose and offset, both ways round, np.corrcoef."""
    best = 0.0
    for image, template in ((a, b), (b, a)):
        for scale in SCALES:
            m = round(SIDE * scale)
            small = shrink_matrix(m) @ template @ shrink_matrix(m).T
            for pose in dihedral(small):
                for y, x in itertools.product(range(SIDE - m + 1), repeat=2):
                    window = image[y : y + m, x : x + m]
                    best = max(best, float(np.corrcoef(window.ravel(), pose.ravel())[0, 1]))
    return best


def test_the_vectorised_search_matches_a_brute_force_loop() -> None:
    original = make_image(5, (100, 90))
    copies = [EDITS[e](original) for e in ("crop 85%", "turn 90", "caption")] + [make_image(6)]
    thumbs = np.stack([thumbnail(im) for im in [original, *copies]])
    pairs = np.array([[0, 1], [2, 0], [0, 3], [4, 0], [1, 2]])
    expected = [brute_force(thumbs[a], thumbs[b]) for a, b in pairs]
    np.testing.assert_allclose(copy_scores(thumbs, pairs), expected, atol=1e-4)


def test_signatures_propose_turned_and_mirrored_copies() -> None:
    pictures = [make_image(seed, (120, 90)) for seed in range(12)]
    copies = [EDITS[e](pictures[0]) for e in ("turn 90", "mirror", "upside down")]
    thumbs = np.stack([thumbnail(im) for im in [*pictures, *copies]])
    pairs = {tuple(p) for p in signature_pairs(thumbs, k=3).tolist()}
    assert {(0, 12), (0, 13), (0, 14)} <= pairs
    assert all(a < b for a, b in pairs)
