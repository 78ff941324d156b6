"""The `lookalike evaluate` command: score any model (the off-the-shelf one by default)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.catalog.distance_names import DISTANCES
from indexer.catalog.settings import Settings

if TYPE_CHECKING:
    from indexer.training.evaluate import EvaluationResult

# Measured side by side on the shared sets (docs/preprocessing.md): the published [-1, 1]
# input scaling of version 2 wins on photos and objects but loses on line drawings.
OFF_THE_SHELF_NOTE = (
    "note      the off-the-shelf model (ImageNet photo features) scores lower on line drawings "
    "and signatures than on photos (Omniglot mAP@R 0.252, and 0.310 with the earlier, "
    "wrong input scaling); for such images train a model: lookalike train"
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `evaluate` to the `lookalike` parser."""
    p = sub.add_parser(
        "evaluate",
        help="measure retrieval, one-shot and verification quality of a model on labelled images",
    )
    p.add_argument("--data", required=True, help="folder of images")
    p.add_argument("--labels", help="CSV relpath,label (default: DATA/labels.csv or sub-folders)")
    p.add_argument("--model", help="checkpoint to evaluate (default: the off-the-shelf model)")
    p.add_argument("--distance", choices=DISTANCES, default="cosine")
    p.add_argument("--pairs", help="CSV relpath1,relpath2,same of verification pairs")
    p.add_argument(
        "--forgery-suffix",
        help="labels ending with this are forgeries of the label without it (e.g. _forg): "
        "verify genuine-vs-genuine against genuine-vs-forgery pairs",
    )
    p.add_argument("--n-way", type=int, default=20, help="labels per one-shot trial (default 20)")
    p.add_argument("--max-images", type=int, help="evaluate at most N images, spread over labels")
    p.add_argument("--device", help="cpu, cuda or auto (default: LOOKALIKE_DEVICE)")
    p.add_argument("--report-dir", help="write report.json and report.html here")
    p.add_argument(
        "--save-calibration",
        metavar="FILE",
        help="write the thresholds of every distance (label pairs) as JSON, e.g. to ship as "
        "a model's calibration",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=evaluate_command)


def evaluate_command(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate, print the metrics, and write the report when asked."""
    from indexer.training.evaluate import evaluate_folder
    from indexer.training.report import write_report

    result = evaluate_folder(
        args.data,
        args.labels,
        model_path=args.model,
        device=args.device or settings.device,
        distance=args.distance,
        batch_size=settings.batch_size,
        max_images=args.max_images,
        n_way=args.n_way,
        pairs_csv=args.pairs,
        forgery_suffix=args.forgery_suffix,
        max_pixels=settings.max_pixels,
        progress=not args.no_progress and not args.json,
    )
    if args.report_dir:
        paths = write_report(
            Path(args.report_dir).expanduser(),
            title=f"Lookalike evaluation: {result.info['model']} on {result.info['data']}",
            metrics=result.metrics,
            similarities=result.similarities,
            same=result.same,
            calibration=result.calibration,
            info=result.info,
        )
        print(f"report: {paths.html}", file=sys.stderr)
    if args.save_calibration:
        calibrations = {k: c.to_dict() for k, c in result.calibrations.items()}
        Path(args.save_calibration).write_text(json.dumps(calibrations, indent=2) + "\n")
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_result(result))
    return 0


def format_result(result: EvaluationResult) -> str:
    """A plain-text summary: facts, metrics, calibrated thresholds."""
    info = result.info
    lines = [
        f"model     {info['model']} ({info['model_version']})",
        f"data      {info['data']}: {info['n_images']} images, {info['n_labels']} labels",
        f"pairs     {info['n_pairs']} ({info['pairs']}), distance {info['distance']}",
    ]
    if info.get("skipped_images"):
        lines.append(f"skipped   {info['skipped_images']} undecodable images")
    for key, value in result.metrics.items():
        lines.append(f"{key:<18}{int(value)}" if key.endswith("n_way") else f"{key:<18}{value:.4f}")
    for far, threshold in result.calibration.far_thresholds.items():
        lines.append(f"threshold at FAR {far:<6} {threshold:.4f}")
    if info["model"] == "off-the-shelf":
        lines.append(OFF_THE_SHELF_NOTE)
    return "\n".join(lines)
