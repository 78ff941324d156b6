"""Is one image an edited copy of another? Pixel checks on small grey thumbnails.

An embedding scores a crop, a caption or a low-quality JPEG of a picture about as close to its
original as a different picture of the same thing, so near duplicates are verified on pixels:
both images are shrunk to SIDE x SIDE grey thumbnails (a squashed square: a quarter turn or a
mirror of the image is the same dihedral transform of its thumbnail), and the copy score of a
pair is the best normalised cross-correlation (NCC) of one thumbnail, turned or mirrored any of
the 8 dihedral ways and shrunk to each of SCALES, slid over every position of the other
(either image may be the crop of the other). NCC ignores brightness and contrast and shrinking
smooths away JPEG blocks; a caption costs the correlation of the pixels it covers.

`signature_pairs` proposes candidate pairs cheaply: 16 x 16 zero-mean fingerprints, each
image's 8 poses searched against the upright ones, so turned and mirrored copies are found
without embedding them turned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import faiss
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from indexer.catalog.errors import ImageError
from indexer.encoder.decode import decode_image, read_bytes

SIDE = 32  # thumbnail side in pixels
SCALES = (1.0, 0.95, 0.9, 0.85, 0.8)  # template sides against the other: crops of 80-100%
SIGNATURE_SIDE = 16  # side of the candidate fingerprint
_FLAT = 0.5  # rows whose centred grey levels have a smaller norm count as flat

Thumbnail = np.ndarray  # (SIDE, SIDE) float32 grey levels


def thumbnail(image: Image.Image) -> Thumbnail:
    """The (SIDE, SIDE) float32 grey thumbnail of an image, squashed to a square."""
    grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    return np.asarray(grey, dtype=np.float32)


def dihedral(squares: np.ndarray) -> np.ndarray:
    """The 8 turns and mirrors of (..., s, s) squares: (..., 8, s, s), the identity first."""
    turns = [np.rot90(squares, k, axes=(-2, -1)) for k in range(4)]
    return np.stack([*turns, *(t[..., ::-1] for t in turns)], axis=-3)


@dataclass(frozen=True)
class Thumbnails:
    ids: np.ndarray  # (n,) int64: the images read
    thumbs: np.ndarray  # (n, SIDE, SIDE) float32
    unreadable: list[int]  # images whose file could not be read or decoded


def read_thumbnails(files: Sequence[tuple[int, Path]], *, max_pixels: int) -> Thumbnails:
    """Decode each (id, path) (JPEG DCT-scaled) to its thumbnail; count the failures."""
    ids, thumbs, unreadable = [], [], []
    for image_id, path in files:
        try:
            image = decode_image(read_bytes(path), max_pixels=max_pixels, draft_size=2 * SIDE)
        except ImageError:
            unreadable.append(image_id)
            continue
        ids.append(image_id)
        thumbs.append(thumbnail(image))
    empty = np.zeros((0, SIDE, SIDE), dtype=np.float32)
    return Thumbnails(np.asarray(ids, dtype=np.int64), np.stack(thumbs) if thumbs else empty,
                      unreadable)  # fmt: skip


def signature_pairs(thumbs: np.ndarray, k: int) -> np.ndarray:
    """Each thumbnail's `k` nearest others by signature NCC in any dihedral pose (exact
    search): (q, 2) index pairs, the lower index first, each pair once."""
    n = len(thumbs)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    sig = signatures(thumbs)  # (n, 8, d)
    index = faiss.IndexFlatIP(sig.shape[2])
    index.add(np.ascontiguousarray(sig[:, 0]))
    scores, hits = index.search(np.ascontiguousarray(sig.reshape(n * 8, -1)), min(k + 1, n))
    scores, hits = scores.reshape(n, -1), hits.reshape(n, -1)  # (n, 8 * (k + 1))
    pairs = set()
    for a in range(n):
        best: dict[int, float] = {}
        for score, b in zip(scores[a], hits[a], strict=True):
            if b != a and b >= 0:
                best[int(b)] = max(best.get(int(b), -1.0), float(score))
        for b in sorted(best, key=lambda j: -best[j])[:k]:
            pairs.add((min(a, b), max(a, b)))
    return np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def signatures(thumbs: np.ndarray) -> np.ndarray:
    """Unit-length zero-mean fingerprints of (n, SIDE, SIDE) thumbnails in all 8 dihedral
    poses: (n, 8, SIGNATURE_SIDE**2) float32; the inner product of two is their NCC."""
    n = len(thumbs)
    f = SIDE // SIGNATURE_SIDE
    small = thumbs.reshape(n, SIGNATURE_SIDE, f, SIGNATURE_SIDE, f).mean(axis=(2, 4))
    poses = dihedral(small).reshape(n, 8, -1)  # (n, 8, d)
    return _unit(poses).astype(np.float32)


def copy_scores(thumbs: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The copy score in [0, 1] of each pair: the best NCC of either thumbnail, in any
    dihedral pose and scale, against any position of the other (see the module doc); 0 when
    either is flat. `thumbs` (n, SIDE, SIDE) float32, `pairs` (q, 2) indices into it; (q,)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    scores = np.zeros(len(pairs), dtype=np.float32)
    sides = [round(SIDE * scale) for scale in SCALES]
    norms = {m: _window_norms(thumbs, m) for m in sides}  # m -> (n, P)
    order = np.argsort(pairs[:, 0], kind="stable")
    starts = np.flatnonzero(np.diff(pairs[order, 0], prepend=-1))
    for rows in np.split(order, starts[1:]):  # the pairs of one first image at a time
        if len(rows):
            first, others = pairs[rows[0], 0], pairs[rows, 1]
            scores[rows] = _best_against(thumbs, norms, first, others)
    return scores


def _best_against(
    thumbs: np.ndarray, norms: dict[int, np.ndarray], a: int, others: np.ndarray
) -> np.ndarray:
    """(k,) best NCC between thumbnail `a` and each of `others` (k,), both ways round."""
    best = np.zeros(len(others), dtype=np.float32)
    for scale in SCALES:
        m = round(SIDE * scale)
        shrink = shrink_matrix(m)  # (m, SIDE)
        # `a` as the picture, each other image shrunk and posed as the sliding template.
        templates = _poses(shrink @ thumbs[others] @ shrink.T)  # (k, 8, m*m)
        ncc = _slide(thumbs[[a]], norms[m][[a]], templates[None])  # (1, k, 8, P)
        best = np.maximum(best, ncc[0].reshape(len(others), -1).max(axis=1))
        if m == SIDE:
            continue  # at full size the reverse is the same comparison
        # Each other image as the picture, `a` shrunk and posed as the template.
        template = _poses((shrink @ thumbs[a] @ shrink.T)[None])  # (1, 8, m*m)
        ncc = _slide(thumbs[others], norms[m][others], template[None])  # (k, 1, 8, P)
        best = np.maximum(best, ncc.reshape(len(others), -1).max(axis=1))
    return np.clip(best, 0.0, 1.0)


def _slide(pictures: np.ndarray, norms: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """NCC of unit templates (k or 1, t, 8, m*m) at every (m, m) window of each picture
    (k, SIDE, SIDE), whose window norms are `norms` (k, P): (k, t, 8, P); 0 at flat windows."""
    m = round(np.sqrt(templates.shape[-1]))
    view = sliding_window_view(pictures, (m, m), axis=(1, 2))  # (k, p, p, m, m)
    windows = view.reshape(len(pictures), -1, m * m)  # (k, P, m*m)
    # The templates are zero-mean, so raw windows give the centred product.
    dot = np.einsum(
        "kpd,ktod->ktop", windows, np.broadcast_to(templates, (len(pictures), *templates.shape[1:]))
    )
    scale = np.where(norms > _FLAT, 1.0 / np.maximum(norms, _FLAT), 0.0).astype(np.float32)
    return dot * scale[:, None, None, :]


def _window_norms(squares: np.ndarray, m: int) -> np.ndarray:
    """Centred L2 norm of every (m, m) window of (k, s, s) squares, from box sums of x and
    x**2: (k, P)."""
    sums = []
    for x in (squares.astype(np.float64), squares.astype(np.float64) ** 2):
        c = np.pad(x.cumsum(axis=1).cumsum(axis=2), ((0, 0), (1, 0), (1, 0)))
        sums.append(c[:, m:, m:] - c[:, :-m, m:] - c[:, m:, :-m] + c[:, :-m, :-m])
    var = sums[1] - sums[0] ** 2 / (m * m)  # (k, p, p)
    return np.sqrt(np.maximum(var, 0.0)).reshape(len(squares), -1)


def _poses(squares: np.ndarray) -> np.ndarray:
    """The 8 dihedral poses of (k, m, m) squares, unit rows: (k, 8, m*m)."""
    k, m = len(squares), squares.shape[-1]
    return _unit(dihedral(squares).reshape(k, 8, m * m))


@cache
def shrink_matrix(m: int) -> np.ndarray:
    """(m, SIDE) linear-interpolation matrix from SIDE samples down to m (pixel centres)."""
    matrix = np.zeros((m, SIDE), dtype=np.float32)
    centres = np.clip((np.arange(m) + 0.5) * SIDE / m - 0.5, 0, SIDE - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, SIDE - 1)
    frac = (centres - low).astype(np.float32)
    np.add.at(matrix, (np.arange(m), low), 1 - frac)
    np.add.at(matrix, (np.arange(m), high), frac)
    return matrix


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows made zero-mean and unit-length along the last axis (flat rows become zero)."""
    centred = rows - rows.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.einsum("...d,...d->...", centred, centred))[..., None]
    return centred * np.where(norm > _FLAT, 1.0 / np.maximum(norm, _FLAT), 0.0)
