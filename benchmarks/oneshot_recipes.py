"""One-shot recipes: named training recipes on label-disjoint Omniglot splits, in a time budget.

For each recipe and held-out split (two whole alphabets never seen in training) it trains the
small CNN with the `Trainer` of `lookalike train` (stopping at the wall-time budget, after a
whole epoch), then scores on the held-out alphabets: 20-way WITHIN-alphabet one-shot accuracy
(each trial: 20 characters of one held-out alphabet, one drawing each as the reference, a
drawing of one of them by another drawer as the query; 2,000 seeded trials) and mAP@R. The
same trials score the untrained small CNN and the off-the-shelf EfficientNet-Lite0.

Writes benchmarks/results/oneshot_recipes.json (merged with earlier runs) and .md.

    PYTHONPATH=. .venv/bin/python benchmarks/oneshot_recipes.py \\
        --recipes line-art --splits greek-latin,balinese-aramaic --budget 900
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._budgeted_training import train as budgeted_train  # noqa: E402
from benchmarks._protocols import OMNIGLOT, hold_out_groups, read_rows  # noqa: E402
from indexer.encoder.checkpoint import load_model  # noqa: E402
from indexer.encoder.embedder import Embedder  # noqa: E402
from indexer.encoder.model import SiameseEncoder  # noqa: E402
from indexer.encoder.preprocess import to_tensor  # noqa: E402
from indexer.training.config import TrainConfig  # noqa: E402
from indexer.training.data import LabelledSet, load_set  # noqa: E402
from indexer.training.evaluate import embed_manifest, label_groups  # noqa: E402
from indexer.training.retrieval_metrics import one_shot_accuracy, retrieval_metrics  # noqa: E402
from indexer.training.tensor_augment import Distortion, distort  # noqa: E402
from indexer.training.trainer import build_encoder  # noqa: E402
from indexer.training.validation import embed_tensors  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "omniglot-background"
OUT = ROOT / "benchmarks" / "results"
TRIALS = 2000
SPLITS = {
    "greek-latin": frozenset({"Greek", "Latin"}),  # the split of _protocols.OMNIGLOT
    "balinese-aramaic": frozenset({"Balinese", "Early_Aramaic"}),
}
LINE_ART: dict[str, Any] = {  # the chosen line-art recipe (docs/training_recipes.md)
    "distortion": "affine",
    "rotations_as_classes": True,
    "miner": "all",  # batch-all: every valid triplet, averaged over the active ones
    "width": 16,
    "input_size": 32,
    "batch_labels": 32,
    "per_label": 4,
    "epochs": 1000,  # an upper bound: the wall-time budget decides (see `replan`)
    "steps_per_epoch": 50,
}
RECIPES: dict[str, TrainConfig] = {
    "protocol-0.838": OMNIGLOT.config,
    "line-art": replace(OMNIGLOT.config, **LINE_ART),
}


def load(rows: list[tuple[str, str]], *, input_size: int | None) -> LabelledSet:
    side = None if input_size is None else 2 * input_size
    return load_set(DATA, [(r, lab) for r, lab in rows], cache_side=side, grayscale=True)


def train(config: TrainConfig, rows: list[tuple[str, str]], budget: float) -> dict[str, Any]:
    """Fit within `budget` seconds (whole epochs); returns the trainer and timings."""
    return budgeted_train(config, load(rows, input_size=config.input_size), budget)


def tta_embed(encoder: SiameseEncoder, images: torch.Tensor, views: int) -> np.ndarray:
    """Mean of the plain embedding and `views - 1` mildly distorted ones, re-normalised."""
    generator = torch.Generator().manual_seed(0)
    mild = Distortion(rotation=5.0, shear=0.1, scale=(0.95, 1.05), translate=1.0 / 105.0)
    total = torch.from_numpy(embed_tensors(encoder, images))  # (N, D)
    for _ in range(views - 1):
        total += torch.from_numpy(embed_tensors(encoder, distort(images, mild, generator)))
    return F.normalize(total, dim=1).numpy()


def score(embeddings: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """20-way within-alphabet one-shot accuracy (2,000 trials) and mAP@R."""
    groups = label_groups(labels)
    one_shot = one_shot_accuracy(embeddings, labels, n_way=20, trials=TRIALS, groups=groups)
    return {"one_shot_20way": one_shot, "map@r": retrieval_metrics(embeddings, labels)["map@r"]}


def test_tensors(rows: list[tuple[str, str]], config: TrainConfig) -> tuple[torch.Tensor, Any]:
    test = load(rows, input_size=None)
    encoder_config = build_encoder(config).config
    images = torch.stack([to_tensor(im, encoder_config) for im in test.images])
    return images, np.asarray([test.label_names[i] for i in test.labels])


def off_the_shelf(rows: list[tuple[str, str]], cache: Path, key: str) -> dict[str, float]:
    """The default EfficientNet-Lite0, untrained, on the held-out rows (cached per split)."""
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if key not in known:
        embedder = Embedder(load_model(None), device="cpu", batch_size=64)
        manifest: list[tuple[str, str | None]] = list(rows)
        emb, kept = embed_manifest(DATA, manifest, embedder, max_pixels=64_000_000, progress=False)
        known[key] = score(emb, np.asarray([rows[i][1] for i in kept]))
        cache.write_text(json.dumps(known, indent=2) + "\n")
    return dict(known[key])


def run(name: str, split_key: str, budget: float, tta: int, out: Path) -> dict[str, Any]:
    config = RECIPES[name]
    train_rows, test_rows = hold_out_groups(SPLITS[split_key])(read_rows(DATA / "labels.csv"))
    images, labels = test_tensors(test_rows, config)
    untrained = score(embed_tensors(build_encoder(config), images), labels)
    fit = train(config, train_rows, budget)
    encoder = fit.pop("trainer").encoder
    trained = score(embed_tensors(encoder, images), labels)
    with_tta = score(tta_embed(encoder, images, tta), labels) if tta > 1 else {}
    return {
        "recipe": name,
        "split": split_key,
        "held_out": sorted(SPLITS[split_key]),
        "budget_s": budget,
        **{k: v for k, v in fit.items() if k != "history"},
        "trained": trained,
        "trained_tta": with_tta,
        "untrained_small_cnn": untrained,
        "off_the_shelf": off_the_shelf(test_rows, out / "oneshot_baselines.json", split_key),
        "config": config.to_dict(),
        "history": fit["history"],
        "command": " ".join(["PYTHONPATH=. .venv/bin/python", *sys.argv]),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| recipe | held out | train s | img/s | epochs | one-shot 20-way | +TTA | mAP@R "
        "| untrained CNN one-shot / mAP@R | Lite0 one-shot / mAP@R |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results.values():
        u, o, t = r["untrained_small_cnn"], r["off_the_shelf"], r["trained"]
        tta = r["trained_tta"].get("one_shot_20way")
        lines.append(
            f"| {r['recipe']} | {' + '.join(r['held_out'])} | {r['train_s']:.0f} "
            f"| {r['images_per_s']:.0f} | {r['epochs_run']} | {t['one_shot_20way']:.3f} "
            f"| {'-' if tta is None else f'{tta:.3f}'} | {t['map@r']:.3f} "
            f"| {u['one_shot_20way']:.3f} / {u['map@r']:.3f} "
            f"| {o['one_shot_20way']:.3f} / {o['map@r']:.3f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default="line-art", help=f"comma-separated of {list(RECIPES)}")
    parser.add_argument(
        "--splits", default="greek-latin", help=f"comma-separated of {list(SPLITS)}"
    )
    parser.add_argument("--budget", type=float, default=900.0, help="training seconds per run")
    parser.add_argument("--tta", type=int, default=8, help="test-time views (1: none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="override a TrainConfig field of every recipe run (the row is named with it)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "oneshot_recipes.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    for name in args.recipes.split(","):
        if overrides:
            suffix = ",".join(f"{k}={v}" for k, v in overrides.items())
            RECIPES[f"{name}[{suffix}]"] = replace(RECIPES[name], **overrides)
            name = f"{name}[{suffix}]"
        for split_key in args.splits.split(","):
            logging.info("=== %s on %s", name, split_key)
            results[f"{name}@{split_key}"] = run(name, split_key, args.budget, args.tta, args.out)
            path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "oneshot_recipes.md").write_text(table(results) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
