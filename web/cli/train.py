"""The `lookalike train` command: fit the Siamese encoder on a folder of the user's images."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.catalog.distance_names import DISTANCES
from indexer.catalog.errors import ConfigError
from indexer.catalog.settings import DEVICES, Settings
from indexer.encoder.backbones import BACKBONES
from indexer.training.config import LOSSES, MINERS, TrainConfig

if TYPE_CHECKING:
    from indexer.catalog.feedback import FeedbackPair

DEFAULTS = TrainConfig()
# TrainConfig fields set one-to-one by an option of the same name (flip is resolved apart).
CONFIG_OPTIONS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("flip",))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `train` to the `lookalike` parser."""
    p = sub.add_parser(
        "train",
        help="train the encoder with triplet loss on your images",
        description="Labels come from --labels (relpath,label), DIR/labels.csv, or sub-folder "
        "names; a flat folder of images trains self-supervised (two augmented views = positives).",
    )
    p.add_argument("--data", required=True, type=Path, help="folder of training images")
    p.add_argument("--labels", type=Path, help="CSV with columns relpath,label")
    p.add_argument("--out", required=True, type=Path, help="model checkpoint to write (.pt)")
    _model_options(p)
    _objective_options(p)
    _schedule_options(p)
    p.add_argument("--resume", type=Path, help="continue from OUT's .state.pt file")
    p.add_argument("--feedback", action="store_true", help="add users' right/wrong marks as pairs")
    p.add_argument("--device", choices=DEVICES, help="default: LOOKALIKE_DEVICE")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=train_command)


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", choices=BACKBONES, default=DEFAULTS.backbone)
    p.add_argument("--grayscale", action="store_true", help="1-channel input (small_cnn only)")
    p.add_argument("--dim", type=int, default=DEFAULTS.dim, help="embedding dimension")
    p.add_argument(
        "--width", type=int, default=DEFAULTS.width, help="small_cnn first-stage channels"
    )
    p.add_argument("--input-size", type=int, default=DEFAULTS.input_size, help="pixels per side")
    p.add_argument("--freeze-backbone", action="store_true", help="train the head only")
    p.add_argument("--backbone-lr-mult", type=float, default=DEFAULTS.backbone_lr_mult)
    p.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random horizontal flips (default: on, off with --grayscale)",
    )


def _objective_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loss", choices=LOSSES, default=DEFAULTS.loss)
    p.add_argument("--miner", choices=MINERS, default=DEFAULTS.miner)
    p.add_argument("--distance", choices=DISTANCES, default=DEFAULTS.distance)
    p.add_argument("--margin", type=float, help="default: 0.2 (manhattan: scaled by sqrt(dim))")
    p.add_argument("--batch-labels", type=int, default=DEFAULTS.batch_labels, help="P labels")
    p.add_argument("--per-label", type=int, default=DEFAULTS.per_label, help="K images per label")
    p.add_argument("--feedback-weight", type=float, default=DEFAULTS.feedback_weight)
    p.add_argument("--feedback-batch", type=int, default=DEFAULTS.feedback_batch)


def _schedule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    p.add_argument("--steps-per-epoch", type=int, help="default: one pass over the images")
    p.add_argument("--lr", type=float, default=DEFAULTS.lr, help="head learning rate")
    p.add_argument("--val-fraction", type=float, default=DEFAULTS.val_fraction)
    p.add_argument(
        "--split",
        choices=("labels", "images"),
        default=DEFAULTS.split,
        help="labels: validation labels unseen in training (default)",
    )
    p.add_argument("--patience", type=int, default=DEFAULTS.patience, help="early-stop epochs")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    p.add_argument("--warmup-fraction", type=float, default=DEFAULTS.warmup_fraction)
    p.add_argument("--grad-clip", type=float, default=DEFAULTS.grad_clip, help="max grad norm")
    p.add_argument(
        "--collapse-threshold",
        type=float,
        default=DEFAULTS.collapse_threshold,
        help="warn when the embedding spread falls below this",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the options describe; bad combinations raise ConfigError."""
    options: dict[str, Any] = {name: getattr(args, name) for name in CONFIG_OPTIONS}
    options["flip"] = not args.grayscale if args.flip is None else args.flip
    try:
        return TrainConfig(**options)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def train_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run `lookalike train`; print the before/after validation metrics."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    from indexer.encoder.embedder import resolve_device
    from indexer.training.run import train_folder  # ~1 s of imports every other command skips
    from indexer.training.state import state_path

    config = config_from_args(args)
    device = resolve_device(args.device or settings.device)
    feedback = load_feedback(settings) if args.feedback else []
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with logging_redirect_tqdm():
        result = train_folder(
            config,
            args.data.expanduser(),
            args.out.expanduser(),
            labels_csv=args.labels,
            device=device,
            resume=args.resume,
            feedback=feedback,
            max_pixels=settings.max_pixels,
            progress=not args.no_progress,
        )
    print(f"model     {result.checkpoint} (version {result.version})")
    print(f"state     {state_path(result.checkpoint)} (for --resume)")
    print(f"epochs    {result.epochs}")
    for key, after in result.metrics.items():
        before = result.baseline.get(key, float("nan"))
        print(f"{key:<10}{before:.4f} -> {after:.4f}  (untrained -> trained)")
    print(f"threshold {result.calibration['eer_threshold']:.4f}  (similarity at the EER)")
    return 0


def load_feedback(settings: Settings) -> list[FeedbackPair]:
    """Users' right/wrong marks from the catalog database, as pairs."""
    from indexer.catalog.database import dispose, make_session_factory
    from indexer.catalog.feedback import feedback_pairs

    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        pairs = list(feedback_pairs(session))
    dispose(sessions)
    if not pairs:
        raise ConfigError("--feedback: no right/wrong marks are stored yet")
    return pairs
