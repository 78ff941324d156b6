"""The `lookalike train` command: fit the Siamese encoder on a folder of the user's images."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from indexer.catalog.distance_names import DISTANCES
from indexer.catalog.errors import ConfigError
from indexer.catalog.settings import DEVICES, Settings
from indexer.encoder.backbones import BACKBONES
from indexer.encoder.fit_names import FITS
from indexer.training.config import DISTORTIONS, LOSSES, MINERS, TrainConfig

if TYPE_CHECKING:
    from indexer.catalog.feedback import FeedbackPair

if TYPE_CHECKING:
    from indexer.training.run import Plan
    from indexer.training.trainer import TrainResult

DEFAULTS = TrainConfig()
# TrainConfig fields set one-to-one by an option of the same name. Every option defaults to
# None (not given): the recipe chosen from the data fills it, and a given value wins.
CONFIG_OPTIONS = tuple(f.name for f in fields(TrainConfig))
FROM_DATA = "default: chosen from the data"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `train` to the `lookalike` parser."""
    p = sub.add_parser(
        "train",
        help="train the encoder with triplet loss on your images",
        description="Labels come from --labels (relpath,label), DIR/labels.csv, or sub-folder "
        "names; a flat folder of images trains self-supervised (two augmented views = positives). "
        "Without options the recipe is chosen from the images (line art, grayscale scans or "
        "colour photos; sizes; labels) and printed with its reasons; any option given wins.",
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
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(handler=train_command)


def _model_options(p: argparse.ArgumentParser) -> None:
    both = argparse.BooleanOptionalAction
    p.add_argument(
        "--backbone",
        choices=BACKBONES,
        help="default: small_cnn for line art and grayscale scans, "
        "efficientnet_lite0 (pretrained) for colour photos",
    )
    p.add_argument("--grayscale", action=both, help="1-channel input (small_cnn only); "
                   "default: on for grayscale images")  # fmt: skip
    p.add_argument("--dim", type=int, help=f"embedding dimension ({FROM_DATA}: 128 or 256)")
    p.add_argument("--width", type=int, help=f"small_cnn first-stage channels ({FROM_DATA})")
    p.add_argument(
        "--input-size", type=int, help=f"pixels per side ({FROM_DATA}: 32 for line art, "
        "32-128 for scans, up to 224 for photos)",
    )  # fmt: skip
    p.add_argument("--fit", choices=FITS, help="how an image becomes square: stretch it, pad "
                   f"it, or crop to the ink and pad ({FROM_DATA}: ink for scans)")  # fmt: skip
    p.add_argument("--freeze-backbone", action=both, help="train the head only "
                   "(default: on for a pretrained backbone)")  # fmt: skip
    p.add_argument("--backbone-lr-mult", type=float, help=f"default: {DEFAULTS.backbone_lr_mult}")
    p.add_argument(
        "--flip", action=both, help="random horizontal flips (default: on for colour photos)"
    )


def _objective_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loss", choices=LOSSES, help=f"default: {DEFAULTS.loss}")
    p.add_argument("--miner", choices=MINERS, help=f"default: {DEFAULTS.miner}")
    p.add_argument("--distance", choices=DISTANCES, help=f"default: {DEFAULTS.distance}")
    p.add_argument("--margin", type=float, help="default: 0.2 (manhattan: scaled by sqrt(dim))")
    p.add_argument("--batch-labels", type=int, help=f"P labels ({FROM_DATA}: up to 32)")
    p.add_argument("--per-label", type=int, help=f"K images per label ({FROM_DATA}: 2-4)")
    p.add_argument("--feedback-weight", type=float, help=f"default: {DEFAULTS.feedback_weight}")
    p.add_argument("--feedback-batch", type=int, help=f"default: {DEFAULTS.feedback_batch}")
    p.add_argument(
        "--distortion",
        choices=DISTORTIONS,
        help=f"training views: photo crops and flips, affine distortion, none ({FROM_DATA})",
    )
    p.add_argument(
        "--forgery-suffix",
        help="labels W + SUFFIX are skilled forgeries of W: validate by writer on genuine-vs-"
        f"forgery ROC AUC ({FROM_DATA}: _forg when such labels exist)",
    )
    p.add_argument(
        "--rotations-as-classes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"each quarter turn of a label is a new class ({FROM_DATA}; not with photo views)",
    )


def _schedule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--time-budget",
        help="bound the run: 90s, 15m, 1h or seconds; 0 or none for no budget "
        "(default: 15m on CPU, 60m on CUDA); the schedule is sized to it",
    )
    p.add_argument("--epochs", type=int, help=f"at most (default: {DEFAULTS.epochs})")
    p.add_argument("--steps-per-epoch", type=int, help="default: one pass over the images")
    p.add_argument("--lr", type=float, help=f"head learning rate ({FROM_DATA})")
    p.add_argument("--val-fraction", type=float, help=f"default: {DEFAULTS.val_fraction}")
    p.add_argument(
        "--split",
        choices=("labels", "images"),
        help="labels: validation labels unseen in training (default; images under 10 labels)",
    )
    p.add_argument("--patience", type=int, help=f"early-stop epochs (default: {DEFAULTS.patience})")
    p.add_argument("--seed", type=int, help=f"default: {DEFAULTS.seed}")
    p.add_argument("--weight-decay", type=float, help=f"default: {DEFAULTS.weight_decay}")
    p.add_argument("--warmup-fraction", type=float, help=f"default: {DEFAULTS.warmup_fraction}")
    p.add_argument("--grad-clip", type=float, help=f"max grad norm (default: {DEFAULTS.grad_clip})")
    p.add_argument(
        "--collapse-threshold",
        type=float,
        help=f"warn when the embedding spread falls below this (default: "
        f"{DEFAULTS.collapse_threshold})",
    )


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields given on the command line (the others are left to the recipe)."""
    return {name: getattr(args, name) for name in CONFIG_OPTIONS if getattr(args, name) is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The given options over TrainConfig's defaults, without looking at any data."""
    options = overrides_from_args(args)
    options.setdefault("flip", not options.get("grayscale", False))
    try:
        return TrainConfig(**options)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def budget_from_args(text: str | None, device_type: str) -> float | None:
    from indexer.training.budget import default_budget, parse_budget

    if text is None:
        return default_budget(device_type)
    try:
        return parse_budget(text)
    except ValueError as exc:
        raise ConfigError(f"--time-budget: {exc}") from exc


def train_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run `lookalike train`: choose the recipe, print it, train within the budget, report."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    from indexer.encoder.embedder import resolve_device
    from indexer.training.budget import Ledger

    device = resolve_device(args.device or settings.device)
    ledger = Ledger(budget_from_args(args.time_budget, device.type))
    with ledger.phase("loading"):
        from indexer.training.run import plan_run, train_folder  # imports others skip
    feedback = load_feedback(settings) if args.feedback else []
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    data_dir = args.data.expanduser()
    try:
        plan = plan_run(
            data_dir, args.labels, overrides=overrides_from_args(args), device=device,
            ledger=ledger, max_pixels=settings.max_pixels,
        )  # fmt: skip
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    out = sys.stderr if args.json else sys.stdout
    print_plan(plan, ledger.budget_s, device.type, file=out)
    with logging_redirect_tqdm():
        result = train_folder(
            plan.config,
            data_dir,
            args.out.expanduser(),
            labels_csv=args.labels,
            device=device,
            resume=args.resume,
            feedback=feedback,
            max_pixels=settings.max_pixels,
            progress=not args.no_progress,
            data=plan.data,
            ledger=ledger,
            compare_default=True,
            metadata={"recipe": plan.reasons, "data_profile": plan.profile.to_dict()},
        )
    if args.json:
        print(json.dumps(outcome(result, plan.reasons), indent=2, default=str))
    else:
        print_result(result)
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


def print_plan(plan: Plan, budget_s: float | None, device: str, *, file: TextIO) -> None:
    """The recipe, one reason per choice, before training starts."""
    from indexer.training.budget import describe

    p = plan.profile
    kind = p.kind if p.supervised else f"{p.kind}, unlabelled"
    print(
        f"data      {p.images} images, {p.labels} labels ({kind}; median side "
        f"{p.median_side:.0f} px)",
        file=file,
    )
    print(f"budget    {describe(budget_s)} on {device}", file=file)
    print("recipe    (any option given on the command line wins)", file=file)
    for reason in plan.reasons:
        print(f"  {reason}", file=file)


def print_result(result: TrainResult) -> None:
    """Where the model went, before -> after, the never-worse verdict and the budget."""
    from indexer.training.state import state_path

    print(f"model     {result.checkpoint} (version {result.version})")
    print(f"state     {state_path(result.checkpoint)} (for --resume)")
    print(f"epochs    {result.epochs}")
    for key, after in result.metrics.items():
        before = result.baseline.get(key, float("nan"))
        print(f"{key:<10}{before:.4f} -> {after:.4f}  (untrained -> trained)")
    print(f"threshold {result.calibration['eer_threshold']:.4f}  (similarity at the EER)")
    for line in verdict_lines(result.verdict):
        print(line)
    for line in budget_lines(result.budget):
        print(line)


METRIC_NAMES = {"map@r": "mAP@R", "forgery_auc": "genuine-vs-forgery ROC AUC"}
FEW_VALIDATION_LABELS = 20  # below this the verdict comes with a caution


def verdict_lines(verdict: dict[str, Any]) -> list[str]:
    """The never-worse outcome in words: one line per reference model, then the verdict."""
    if not verdict:
        return []
    lines, losses = [], []
    n = verdict["validation_labels"]
    metric = METRIC_NAMES.get(verdict.get("metric", "map@r"), verdict.get("metric", "map@r"))
    if verdict["default_model"] is not None:
        where = (
            f"{verdict['default_sample_labels']} held-out labels "
            f"({verdict['default_sample_images']} images"
            + (", a sample)" if verdict["default_sampled"] else ")")
        )
        before, after = verdict["default_model"], verdict["trained_on_default_sample"]
        lines.append(f"default   {metric} {before:.4f} off the shelf -> {after:.4f} on {where}")
        if not verdict["beats_default_model"]:
            losses.append(f"off the shelf, on {where}: {metric} {before:.2f} -> {after:.2f}")
    elif verdict["default_model_note"]:
        lines.append(f"default   {verdict['default_model_note']}")
    if not verdict["beats_starting_model"]:
        before, after = verdict["starting_model"], verdict["trained"]
        losses.append(
            f"as it started, on {n} held-out labels: {metric} {before:.2f} -> {after:.2f}"
        )
    unclear = []
    for key, against in (
        ("starting_confidence", "the starting model"),
        ("default_confidence", "off the shelf"),
    ):
        line, clear = confidence_line(verdict.get(key), against)
        if line:
            lines.append(line)
        if clear is False:
            unclear.append(against)
    if not losses and not unclear:
        lines.append(f"verdict   training beat the untrained model on {n} held-out labels")
    if not losses and unclear:
        lines.append(
            f"verdict   training did not clearly beat the untrained model ({' and '.join(unclear)}"
            "): its gain could vanish on other labels; keep serving the current model (the "
            "checkpoint records beats_baseline false)"
        )
    for loss in losses:
        lines.append(
            f"verdict   training did not beat the untrained model ({loss}); keep serving "
            "the current model (the checkpoint records beats_baseline false)"
        )
    if 0 < n < FEW_VALIDATION_LABELS:
        lines.append(
            f"caution   {n} held-out labels are a small check: a verdict on so few can flip on "
            "other labels; confirm with `lookalike evaluate` on labels kept apart from training"
        )
    return lines


def confidence_line(record: dict[str, Any] | None, against: str) -> tuple[str, bool | None]:
    """One line on a bootstrap of the verdict (win_confidence), and whether the win is clear;
    ("", None) when none was measured."""
    if not record:
        return "", None
    clear = bool(record["clear"])
    return (
        f"confidence vs {against}: better in {record['p_better']:.0%} of {record['resamples']} "
        f"redraws of the {record['count']} held-out {record['units']} (gain "
        f"{record['gain_low']:+.3f} to {record['gain_high']:+.3f}): "
        + ("a clear win" if clear else f"not a clear win (needs {record['clear_at']:.0%})"),
        clear,
    )


def budget_lines(report: dict[str, Any]) -> list[str]:
    """Where the time went, each phase in seconds and % of the wall time."""
    if not report:
        return []
    from indexer.training.budget import describe

    parts = ", ".join(
        f"{name} {p['s']:.1f} s ({p['share']:.0%})" for name, p in report["phases"].items()
    )
    return [f"time      {report['wall_s']:.1f} s of {describe(report['budget_s'])}: {parts}"]


def outcome(result: TrainResult, reasons: list[str]) -> dict[str, Any]:
    """The JSON that `--json` prints."""
    return {
        "model": str(result.checkpoint),
        "version": result.version,
        "epochs": result.epochs,
        "baseline": result.baseline,
        "metrics": result.metrics,
        "beats_baseline": result.verdict.get("beats_baseline"),
        "never_worse": result.verdict,
        "budget": result.budget,
        "recipe": reasons,
    }
