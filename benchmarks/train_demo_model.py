"""Train the model `lookalike demo` serves: a small-CNN Siamese encoder, triplet loss, trained
on the Omniglot characters that are NOT in the demo catalog.

The demo catalog (indexer/demo_catalog/) is 48 characters (character01..06 of 8 alphabets)
of omniglot-background; its files keep their Omniglot names (e.g. 0394_01.png), so the
demo's characters are found by file name in the shared set and every drawing of them is
left out. The other 194 characters are split by `train_folder` (the core of
`lookalike train`) into training characters and label-disjoint validation characters, on
which early stopping and the stored calibrations are measured. The checkpoint gets a card
(description, objective, training data) that the page and /api/v1/health show, and its
verdicts decide at the 1% false-accept point of the validation pairs (OPERATING_POINT).

Seeded and on one CPU thread, so a rerun with the same PyTorch writes the same weights,
metadata and version (a digest of the weights); only the zip's inner folder name differs:

    .venv/bin/python benchmarks/train_demo_model.py [--out indexer/demo_model/omniglot_small_cnn.pt]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._protocols import OMNIGLOT, Row, read_rows, write_rows  # noqa: E402
from indexer.encoder.calibration import Calibration  # noqa: E402
from indexer.encoder.checkpoint import (  # noqa: E402
    LoadedModel,
    load_checkpoint,
    save_checkpoint,
    weights_digest,
)
from indexer.encoder.model_card import CARD_KEY  # noqa: E402
from indexer.ingest.demo import demo_catalog  # noqa: E402
from indexer.training.config import TrainConfig  # noqa: E402
from indexer.training.run import train_folder  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "omniglot-background"
OUT = ROOT / "indexer" / "demo_model" / "omniglot_small_cnn.pt"
THREADS = 1  # fixed: the order of float reductions, hence the weights, depends on it
# The small-CNN recipe of benchmarks/_protocols.py OMNIGLOT (32 px grayscale, 40 x 100 steps
# of 16 characters x 4 drawings, semi-hard triplets), narrower to keep the file small, with a
# fifth of the characters held out for validation and calibration.
CONFIG = replace(OMNIGLOT.config, width=32, val_fraction=0.2, patience=10)
# Verdicts decide at the similarity that 1% of different-character validation pairs reach,
# not at the equal-error point: on the demo catalog the EER threshold calls most of a
# search's 12 results "match" and a fifth of two characters of one alphabet SAME
# (benchmarks/demo_model.py; README "The demo model").
OPERATING_POINT = "0.01"


def demo_labels(rows: list[Row], catalog: Path) -> set[str]:
    """The shared set's labels of the demo catalog's characters, matched by file name.

    Raises ValueError when a demo file is missing from the shared set or its folder names a
    different character there.
    """
    label_of = {Path(relpath).name: label for relpath, label in rows}
    labels: set[str] = set()
    for path in sorted(catalog.rglob("*.png")):
        label = label_of.get(path.name)
        folder = f"{path.parent.parent.name}/{path.parent.name}"
        if label != folder:
            raise ValueError(f"demo file {path.name} is {label!r} in the shared set, not {folder}")
        labels.add(label)
    return labels


def training_rows(rows: list[Row], excluded: set[str]) -> list[Row]:
    """Every drawing of every character not in `excluded`."""
    return [(relpath, label) for relpath, label in rows if label not in excluded]


def card(config: TrainConfig, rows: list[Row], excluded: set[str]) -> dict[str, str]:
    """The words the page shows about this model."""
    labels = {label for _, label in rows}
    n_val = round(config.val_fraction * len(labels))
    return {
        "description": f"Small CNN Siamese encoder (width {config.width}, {config.dim}-d, "
        f"{config.input_size} px grayscale), the demo model",
        "trained_on": f"Omniglot: {len(labels) - n_val} characters of 8 alphabets for training "
        f"and {n_val} others for validation and calibration, {len(rows)} drawings; none of "
        f"the {len(excluded)} characters of the demo catalog",
        "trained_by": "benchmarks/train_demo_model.py",
    }


def at_operating_point(metadata: dict[str, Any], decision: str) -> dict[str, Any]:
    """The metadata with every stored calibration deciding at `decision` ("eer" or a FAR)."""
    single = replace(Calibration.from_dict(metadata["calibration"]), decision=decision)
    every = {
        distance: replace(Calibration.from_dict(data), decision=decision).to_dict()
        for distance, data in metadata["calibrations"].items()
    }
    return metadata | {"calibration": single.to_dict(), "calibrations": every}


def finish(model: LoadedModel, out: Path, config: TrainConfig, rows: list[Row]) -> str:
    """Add the card and the operating point to a trained model, write `out`; return its version."""
    excluded = demo_labels(rows, demo_catalog())
    kept = training_rows(rows, excluded)
    metadata = at_operating_point(model.metadata, OPERATING_POINT) | {
        CARD_KEY: card(config, kept, excluded),
        "excluded_labels": sorted(excluded),
    }
    version = f"omniglot-demo-small_cnn-w{config.width}-{weights_digest(model.encoder)}"
    return save_checkpoint(out, model.encoder, version=version, metadata=metadata)


def train(out: Path, config: TrainConfig) -> str:
    """Train on the non-demo characters, then `finish` the model into `out`."""
    rows = read_rows(DATA / "labels.csv")
    kept = training_rows(rows, demo_labels(rows, demo_catalog()))
    logging.info("excluding the demo's characters; training on %d drawings", len(kept))
    with tempfile.TemporaryDirectory() as tmp:
        labels_csv = write_rows(Path(tmp) / "train.csv", kept)
        draft = Path(tmp) / "model.pt"
        train_folder(
            config, DATA, draft, labels_csv=labels_csv, device=torch.device("cpu"), progress=False
        )
        model = load_checkpoint(draft)
    return finish(model, out, config, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="checkpoint to write")
    parser.add_argument("--width", type=int, default=CONFIG.width, help="small CNN width")
    parser.add_argument("--input-size", type=int, default=CONFIG.input_size)
    parser.add_argument("--epochs", type=int, default=CONFIG.epochs)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(THREADS)
    config = replace(CONFIG, width=args.width, input_size=args.input_size, epochs=args.epochs)
    started = time.perf_counter()
    version = train(args.out, config)
    size_kb = args.out.stat().st_size / 1024
    print(
        f"{args.out}: version {version}, {size_kb:.0f} KiB, {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
