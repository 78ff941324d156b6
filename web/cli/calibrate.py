"""The `lookalike calibrate` command: measure the serving model's verdict threshold on the
catalog owner's labelled images or pairs, and store it in the catalog for that model."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from indexer.catalog.settings import Settings

FEW_PAIRS = 200  # of each kind: below this, a promised rate is rough
# With few labels the rate moves with which labels come next: calibrated on 10 COIL-20 objects,
# the false-accept rate on the other 10 was off by up to 14 points (docs/calibration_holdout.md).
FEW_LABELS = 30
UNRELIABLE_EER = 0.2  # above this, about one verdict in five is wrong: say so


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `calibrate` to the `lookalike` parser."""
    p = sub.add_parser(
        "calibrate",
        help="measure the serving model's same/different threshold on your labelled images",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--data", help="folder of labelled images (labels.csv or sub-folders)")
    what.add_argument("--show", action="store_true", help="print the stored calibration")
    what.add_argument("--clear", action="store_true", help="forget the stored calibration")
    p.add_argument("--labels", help="CSV relpath,label (default: DATA/labels.csv or sub-folders)")
    p.add_argument("--pairs", help="CSV relpath1,relpath2,same of labelled pairs under DATA")
    p.add_argument(
        "--forgery-suffix",
        help="labels ending with this are forgeries of the label without it (e.g. _forg)",
    )
    p.add_argument(
        "--far",
        type=float,
        help="decide at this false-accept rate (e.g. 0.01) instead of the equal-error point",
    )
    p.add_argument("--max-images", type=int, help="use at most N images, spread over labels")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=calibrate_command)


def calibrate_command(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.catalog.database import make_session_factory
    from indexer.encoder.registry import (
        catalog_calibration,
        clear_calibration,
        ensure_serving_model,
        store_calibration,
    )

    sessions = make_session_factory(settings.database_url)
    with sessions.begin() as session:
        version = ensure_serving_model(session, settings).version
    if args.clear:
        with sessions.begin() as session:
            cleared = clear_calibration(session, version)
        print(f"{version}: {'calibration cleared' if cleared else 'had no stored calibration'}")
        return 0
    if args.show:
        with sessions() as session:
            stored = catalog_calibration(session, version)
        if stored is None:
            print(f"{version}: no calibration stored in this catalog", file=sys.stderr)
            return 1
        print(json.dumps(stored, indent=2) if args.json else describe(version, stored, settings))
        return 0
    from indexer.encoder.resources import embedder_for
    from indexer.training.calibrate_folder import calibrate_folder  # training imports: here only

    result = calibrate_folder(
        args.data,
        embedder_for(settings, sessions, version),
        labels_csv=args.labels,
        pairs_csv=args.pairs,
        forgery_suffix=args.forgery_suffix,
        far=args.far,
        max_images=args.max_images,
        max_pixels=settings.max_pixels,
        progress=not (args.no_progress or args.json),
    )
    record = result.record()
    with sessions.begin() as session:
        store_calibration(session, version, record)
    print(json.dumps(record, indent=2) if args.json else describe(version, record, settings))
    return 0


def describe(version: str, record: dict[str, Any], settings: Settings) -> str:
    """What the stored calibration promises under the serving distance, in plain words."""
    from indexer.encoder.calibration import Calibration

    on = record["measured_on"]
    cal = record["calibrations"][settings.distance]
    calibration = Calibration.from_dict(cal)
    point = "the equal-error point" if calibration.decision == "eer" else "the FAR target"
    threshold, far = calibration.threshold, calibration.promised_far
    frr = on["false_reject_rate"][settings.distance]
    lines = [
        f"model      {version}",
        f"measured   {on['data']}: {on['n_images']} images, {on['n_same_pairs']} same and "
        f"{on['n_different_pairs']} different pairs ({on['pairs']})",
        f"threshold  {threshold:.4f} ({settings.distance} score, {point})",
        f"promises   {far:.1%} of different pairs called SAME, {frr:.1%} of same pairs DIFFERENT",
    ]
    if min(on["n_same_pairs"], on["n_different_pairs"]) < FEW_PAIRS:
        lines.append(f"note       fewer than {FEW_PAIRS} pairs of a kind: these rates are rough")
    if on.get("n_labels") is not None and on["n_labels"] < FEW_LABELS:
        lines.append(
            f"note       only {on['n_labels']} labels: on other labels the rates may be off by "
            "several points"
        )
    if cal["eer"] > UNRELIABLE_EER:
        lines.append(
            f"warning    this model tells your images apart poorly (EER {cal['eer']:.1%}); "
            "verdicts will often be wrong: train a model on them (`lookalike train`)"
        )
    return "\n".join(lines)
