"""The names of the encoder's fits (see `indexer.encoder.fit`), importable without numpy or
Pillow so that the CLI's parsers and the configs can check a name cheaply."""

from __future__ import annotations

from typing import Literal, get_args

FitName = Literal["stretch", "pad", "ink"]
FITS: tuple[str, ...] = get_args(FitName)


def check_fit(name: str) -> None:
    if name not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {name!r}")
