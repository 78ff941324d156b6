"""Exact metadata filters (`key:value`, several are ANDed) applied to catalog rows' metadata.

A value matches a string equal to it, a number or boolean whose JSON spelling equals it
(`year:2020`, `sale:true`), or a list holding such an element (`tags:red`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from search.errors import InvalidFilterError


@dataclass(frozen=True)
class MetadataFilter:
    terms: tuple[tuple[str, str], ...] = ()  # (key, value) pairs, all must match

    @classmethod
    def parse(cls, raw: Iterable[str]) -> MetadataFilter:
        """Build a filter from `key:value` strings (the value may itself contain colons)."""
        terms = []
        for item in raw:
            key, sep, value = item.partition(":")
            if not sep or not key.strip():
                raise InvalidFilterError(f"filter must look like key:value, got {item!r}")
            terms.append((key.strip(), value))
        return cls(tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, metadata: Mapping[str, Any] | None) -> bool:
        """Whether every term matches `metadata`."""
        metadata = metadata or {}
        return all(key in metadata and _matches(metadata[key], value) for key, value in self.terms)


def _matches(stored: Any, wanted: str) -> bool:
    if isinstance(stored, list):
        return any(_scalar_matches(item, wanted) for item in stored)
    return _scalar_matches(stored, wanted)


def _scalar_matches(stored: Any, wanted: str) -> bool:
    if isinstance(stored, str):
        return stored == wanted
    if isinstance(stored, bool | int | float) or stored is None:
        return json.dumps(stored) == wanted
    return False
