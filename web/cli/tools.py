"""The Siamese use cases on the command line: compare, gallery, anomaly, duplicates."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.catalog.distance_names import DISTANCES
from indexer.catalog.errors import LookalikeError
from indexer.catalog.settings import Settings

if TYPE_CHECKING:
    from search.runtime import Runtime

# search.near_duplicates.DEFAULT_THRESHOLD, repeated so that building the parser imports no
# search code (FAISS); tests/web/cli/test_imports.py holds the two equal.
DEFAULT_THRESHOLD = 0.935
NOT_CALIBRATED = (
    "not calibrated: no threshold fits these images. Measure one on your labelled images "
    "with `lookalike calibrate --data DIR` (or --pairs pairs.csv), or train a model."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `compare`, `gallery`, `anomaly` and `duplicates` to the `lookalike` parser."""
    p = sub.add_parser("compare", help="are two images the same thing? (verification)")
    p.add_argument("image_a")
    p.add_argument("image_b")
    p.add_argument("--threshold", type=float, help="score threshold (default: calibrated)")
    p.add_argument("--distance", choices=DISTANCES, help="default: LOOKALIKE_DISTANCE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_compare)

    g = sub.add_parser("gallery", help="one-shot recognition against labelled references")
    gsub = g.add_subparsers(dest="gallery_command", required=True)
    add = gsub.add_parser("add", help="enrol reference images of a label")
    add.add_argument("name")
    add.add_argument("label")
    add.add_argument("images", nargs="+", help="image files or folders")
    add.add_argument("--distance", choices=DISTANCES, help="when this creates the gallery")
    add.set_defaults(handler=_gallery_add)
    ident = gsub.add_parser("identify", help="which enrolled label does each image show?")
    ident.add_argument("name")
    ident.add_argument("images", nargs="+")
    ident.add_argument("--top", type=int, default=5)
    ident.add_argument("--aggregate", choices=("max", "mean"), default="max")
    ident.add_argument("--json", action="store_true")
    ident.set_defaults(handler=_gallery_identify)
    lst = gsub.add_parser("list", help="galleries and their labels")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_gallery_list)
    thr = gsub.add_parser("threshold", help="fix a gallery's threshold ('auto': calibrated)")
    thr.add_argument("name")
    thr.add_argument("value")
    thr.set_defaults(handler=_gallery_threshold)
    rm = gsub.add_parser("delete", help="delete a gallery and its references")
    rm.add_argument("name")
    rm.set_defaults(handler=_gallery_delete)

    a = sub.add_parser("anomaly", help="score images for novelty against the catalog; write CSV")
    a.add_argument("paths", nargs="+", help="image files or folders")
    a.add_argument("--out", default="anomaly.csv", help="CSV to write (default anomaly.csv)")
    a.add_argument("--gallery", help="score against this gallery instead of the catalog")
    a.add_argument("--k", type=int, help="neighbours (default LOOKALIKE_ANOMALY_K)")
    a.add_argument("--percentile", type=float, help="threshold percentile (default 99)")
    a.set_defaults(handler=_anomaly)

    d = sub.add_parser("duplicates", help="groups of near-identical and identical catalog images")
    d.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"copy score (default {DEFAULT_THRESHOLD})")  # fmt: skip
    d.add_argument("--neighbours", type=int, default=10, help="embedding candidates per image")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=_duplicates)


def _runtime(settings: Settings, load: str = "lazy") -> Runtime:
    from search.runtime import build_runtime

    return build_runtime(settings, load=load)


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.encoder.decode import read_bytes
    from search.compare import compare_images

    engine = _runtime(settings).engine
    first = read_bytes(Path(args.image_a).expanduser())
    second = read_bytes(Path(args.image_b).expanduser())
    result = compare_images(engine, first, second, distance=args.distance, threshold=args.threshold)
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    verdict = {True: "SAME", False: "DIFFERENT", None: "NO VERDICT"}[result.same]
    limit = "none" if result.threshold is None else f"{result.threshold:.4f}"
    print(
        f"{verdict}  score {result.similarity:.4f}  distance {result.distance:.4f} "
        f"({result.distance_kind})  threshold {limit} ({result.threshold_source})"
    )
    if result.same is None:
        print(NOT_CALIBRATED, file=sys.stderr)
    return 0


def _files(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    from indexer.ingest.scan import scan_paths

    scan = scan_paths(paths)
    for path, reason in scan.errors:
        print(f"error: {path}: {reason}", file=sys.stderr)
    return scan.files, scan.errors


def _gallery_add(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.encoder.decode import read_bytes

    galleries = _runtime(settings).galleries
    files, errors = _files(args.images)
    failed = bool(errors)
    for path in files:
        try:
            item = galleries.enrol(
                args.name, label=args.label, data=read_bytes(path), filename=path.name,
                distance=args.distance,
            )  # fmt: skip
            print(f"added #{item.id} {args.label!r} {path}")
        except LookalikeError as exc:
            failed = True
            print(f"error: {path}: {exc.message}", file=sys.stderr)
    return 1 if failed else 0


def _gallery_identify(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.encoder.decode import read_bytes

    galleries = _runtime(settings).galleries
    files, errors = _files(args.images)
    answers: list[dict[str, Any]] = [{"query": p, "error": r} for p, r in errors]
    for path in files:
        try:
            result = galleries.identify(
                args.name, read_bytes(path), top=args.top, aggregate=args.aggregate
            )
            answers.append({"query": str(path)} | asdict(result))
        except LookalikeError as exc:
            answers.append({"query": str(path), "error": exc.message})
    if args.json:
        print(json.dumps({"queries": answers}, indent=2))
    for answer in [] if args.json else answers:
        if "error" in answer:
            print(f"{answer['query']}: error: {answer['error']}")
            continue
        if answer["known"] is None:  # no fitting threshold: the closed-set answer only
            label = f"{answer['best_label']} (nearest; not calibrated, open-set undecided)"
        else:
            label = (
                answer["label"] if answer["known"] else f"(unknown; nearest {answer['best_label']})"
            )
        print(f"{answer['query']}: {label}  score {answer['score']:.4f}")
    return 1 if any("error" in a for a in answers) else 0


def _gallery_list(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.catalog.galleries import all_galleries, summarize

    with _runtime(settings).sessions() as session:
        summaries = [asdict(summarize(session, g)) for g in all_galleries(session)]
    if args.json:
        print(json.dumps({"galleries": summaries}, indent=2))
        return 0
    for s in summaries:
        limit = "calibrated" if s["threshold"] is None else f"{s['threshold']:.4f}"
        print(f"{s['name']}: {s['items']} references, {len(s['labels'])} labels, "
              f"{s['distance']}, threshold {limit}")  # fmt: skip
    return 0


def _gallery_threshold(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.catalog.galleries import set_threshold

    value = None if args.value == "auto" else float(args.value)
    with _runtime(settings).sessions.begin() as session:
        set_threshold(session, args.name, value)
    print(f"{args.name}: threshold {'calibrated' if value is None else value}")
    return 0


def _gallery_delete(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.catalog.galleries import delete_gallery

    with _runtime(settings).sessions.begin() as session:
        items = delete_gallery(session, args.name)
    print(f"deleted gallery {args.name} ({items} references)")
    return 0


def _anomaly(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.encoder.decode import read_bytes

    scorer = _runtime(settings, "lazy" if args.gallery else "now").anomaly
    files, errors = _files(args.paths)
    flagged = 0
    with open(args.out, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["path", "score", "is_anomaly", "threshold", "nearest", "error"])
        for bad, reason in errors:
            out.writerow([bad, "", "", "", "", reason])
        for path in files:
            try:
                r = scorer.score(
                    read_bytes(path), gallery=args.gallery, k=args.k, percentile=args.percentile
                )
                nearest = r.neighbours[0].label or r.neighbours[0].uri if r.neighbours else ""
                out.writerow([path, f"{r.score:.6f}", r.is_anomaly, f"{r.threshold:.6f}",
                              nearest, ""])  # fmt: skip
                flagged += r.is_anomaly
            except LookalikeError as exc:
                out.writerow([path, "", "", "", "", exc.message])
    print(f"{len(files)} images scored, {flagged} anomalous, {len(errors)} errors -> {args.out}")
    return 0


def _duplicates(args: argparse.Namespace, settings: Settings) -> int:
    from search.near_duplicates import find_duplicates

    report = find_duplicates(
        _runtime(settings, "now").engine,
        threshold=args.threshold,
        neighbours=args.neighbours,
    )
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return 0
    for title, groups in (("near-duplicates", report.near), ("identical files", report.exact)):
        print(f"== {len(groups)} groups of {title}")
        for group in groups:
            print(f"-- {len(group.members)} images, score >= {group.score:.4f}")
            for member in group.members:
                print(f"   #{member.id:<7d} {member.score:.4f} {member.uri}")
    return 0
