"""Galleries in the catalog: named sets of labelled reference images (create, add, list, delete).

A gallery is created by its first item. Each item keeps its image bytes, so the references
can be embedded again by whichever model serves next; `vector` caches the embedding of
`model_version`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from indexer.catalog.distance_names import DISTANCES
from indexer.catalog.errors import BadRequestError, NotFoundError
from indexer.catalog.fields import check_score, check_text
from indexer.catalog.schema import Gallery, GalleryItem

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_LABEL = 256
MAX_FILENAME = 1024


@dataclass(frozen=True)
class GallerySummary:
    name: str
    distance: str
    threshold: float | None  # None: calibrated
    items: int
    labels: dict[str, int]  # label -> references


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise BadRequestError(
            f"gallery name must be 1-64 letters, digits, '.', '_' or '-', got {name!r}"
        )
    return name


def check_label(label: str | None) -> str:
    label = (label or "").strip()
    if not label or len(label) > MAX_LABEL:
        raise BadRequestError(f"label must be 1-{MAX_LABEL} characters")
    return check_text("label", label, max_length=MAX_LABEL)


def get_gallery(session: Session, name: str) -> Gallery:
    gallery = session.scalar(select(Gallery).where(Gallery.name == check_name(name)))
    if gallery is None:
        raise NotFoundError(f"no gallery named {name!r}")
    return gallery


def ensure_gallery(
    session: Session, name: str, *, distance: str | None = None, threshold: float | None = None
) -> Gallery:
    """The gallery called `name`, created with `distance` (default cosine) when missing."""
    gallery = session.scalar(select(Gallery).where(Gallery.name == check_name(name)))
    if gallery is None:
        gallery = Gallery(name=name, distance=check_gallery_distance(distance or "cosine"))
        session.add(gallery)
        session.flush()
    elif distance is not None and distance != gallery.distance:
        raise BadRequestError(
            f"gallery {name!r} uses the {gallery.distance} distance; it cannot change once made"
        )
    if threshold is not None:
        gallery.threshold = threshold
    return gallery


def check_gallery_distance(distance: str) -> str:
    if distance not in DISTANCES:
        raise BadRequestError(f"distance must be one of {DISTANCES}, got {distance!r}")
    return distance


def set_threshold(session: Session, name: str, threshold: float | None) -> Gallery:
    """Fix the gallery's score threshold, or with None go back to the calibrated one."""
    gallery = get_gallery(session, name)
    gallery.threshold = check_score("threshold", threshold)
    return gallery


def add_item(
    session: Session,
    gallery: Gallery,
    *,
    label: str,
    data: bytes,
    filename: str | None,
    vector: bytes,
    model_version: str,
) -> GalleryItem:
    """Store one reference image of `label` with its vector under `model_version`."""
    item = GalleryItem(
        gallery_id=gallery.id,
        label=check_label(label),
        filename=_filename(filename),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        vector=vector,
        model_version=model_version,
    )
    session.add(item)
    session.flush()
    return item


def _filename(filename: str | None) -> str | None:
    """The client's file name as stored: informative only, so cut and cleaned, never refused."""
    cleaned = (filename or "").replace("\x00", "").encode("utf-8", "replace").decode()
    return cleaned[:MAX_FILENAME] or None


def list_items(session: Session, gallery: Gallery) -> list[GalleryItem]:
    query = select(GalleryItem).where(GalleryItem.gallery_id == gallery.id)
    return list(session.scalars(query.order_by(GalleryItem.id)))


def delete_item(session: Session, gallery: Gallery, item_id: int) -> None:
    item = session.get(GalleryItem, item_id)
    if item is None or item.gallery_id != gallery.id:
        raise NotFoundError(f"gallery {gallery.name!r} has no item {item_id}")
    session.delete(item)


def delete_gallery(session: Session, name: str) -> int:
    """Delete a gallery and its items; return how many items went with it."""
    gallery = get_gallery(session, name)
    count = session.execute(delete(GalleryItem).where(GalleryItem.gallery_id == gallery.id))
    session.delete(gallery)
    return int(count.rowcount or 0)  # type: ignore[attr-defined]


def summarize(session: Session, gallery: Gallery) -> GallerySummary:
    query = (
        select(GalleryItem.label, func.count())
        .where(GalleryItem.gallery_id == gallery.id)
        .group_by(GalleryItem.label)
    )
    labels = Counter({label: n for label, n in session.execute(query).all()})
    return GallerySummary(
        gallery.name, gallery.distance, gallery.threshold, sum(labels.values()), dict(labels)
    )


def all_galleries(session: Session) -> list[Gallery]:
    return list(session.scalars(select(Gallery).order_by(Gallery.name)))
