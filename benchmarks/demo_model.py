"""The demo model against the off-the-shelf one, on the demo catalog `lookalike demo` serves.

The demo model (indexer/demo_model/) never saw these 48 characters (train_demo_model.py
leaves them out), so every figure is on unseen characters:

- retrieval: each of the 480 drawings queries the other 479 (label = character): mAP@R
  and P@1 (= Recall@1);
- one-shot: 20-way across alphabets (the demo has 6 characters per alphabet, too few for
  20-way within one) and 6-way within an alphabet; seeded trials of one support drawing per
  character and another drawing as the query;
- Compare (`compare_images`, what the API and the page call) on pairs of two drawings of one
  character, of two characters of one alphabet and of two alphabets: accuracy of the verdict
  with the model's shipped calibration, and for context the accuracy at the EER threshold
  measured on these very pairs (an oracle no served model has);
- match badges: among each drawing's 12 nearest others (the page's default), how many the
  calibration badges "match" and how many of those are the same character; and how many
  photos (caltech101-7, when ../shared/data has it) would get a "match" for their nearest
  drawing.

    .venv/bin/python benchmarks/demo_model.py [--model PATH] [--trials 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import RESULTS, write_report  # noqa: E402
from benchmarks.siamese_tasks import runtime_for  # noqa: E402
from indexer.encoder.calibration import calibrations_of  # noqa: E402
from indexer.encoder.checkpoint import load_model  # noqa: E402
from indexer.encoder.embedder import Embedder  # noqa: E402
from indexer.encoder.verification import roc_auc, verification_metrics  # noqa: E402
from indexer.ingest.demo import demo_catalog, demo_model  # noqa: E402
from indexer.training.data import Manifest, read_manifest  # noqa: E402
from indexer.training.evaluate import embed_manifest  # noqa: E402
from indexer.training.retrieval_metrics import (  # noqa: E402
    nearest_neighbours,
    one_shot_accuracy,
    retrieval_metrics,
)
from search.compare import compare_images  # noqa: E402
from search.runtime import Runtime  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "data" / "caltech101-7"
TOP = 12  # results the page asks for by default
PAIR_KINDS = ("same character", "same alphabet", "other alphabet")
Pair = tuple[Path, Path, str]  # (first, second, kind)


def embed(model_path: str | None, root: Path, manifest: Manifest) -> np.ndarray:
    """Embeddings (n, d) of the manifest's images with a model (None: off-the-shelf)."""
    embedder = Embedder(load_model(model_path), device="cpu")
    embeddings, kept = embed_manifest(
        root, manifest, embedder, max_pixels=64_000_000, progress=False
    )
    assert len(kept) == len(manifest), "a demo image failed to decode"
    return embeddings


def retrieval(emb: np.ndarray, labels: np.ndarray, *, trials: int, seed: int) -> dict[str, float]:
    """mAP@R, P@1 and one-shot accuracies of the catalog's embeddings."""
    alphabets = np.asarray([label.split("/")[0] for label in labels])
    metrics = retrieval_metrics(emb, labels)
    return {
        "map@r": metrics["map@r"],
        "p@1": metrics["recall@1"],
        "one_shot_20way_across": one_shot_accuracy(emb, labels, n_way=20, trials=trials, seed=seed),
        "one_shot_6way_within": one_shot_accuracy(
            emb, labels, n_way=6, trials=trials, seed=seed, groups=alphabets
        ),
    }


def badges(
    emb: np.ndarray, labels: np.ndarray, threshold: float | None, photos: np.ndarray | None
) -> dict[str, Any]:
    """What the calibrated "match" badge says on the top 12 of every drawing and on photos."""
    if threshold is None:
        return {"threshold": None}
    top = nearest_neighbours(emb, TOP)  # (n, TOP)
    scores = np.take_along_axis(emb @ emb.T, top, axis=1)  # cosine scores (n, TOP)
    match = scores >= threshold
    correct = labels[top] == labels[:, None]
    out: dict[str, Any] = {
        "threshold": threshold,
        "matches_per_query": float(match.sum(axis=1).mean()),
        "match_precision": float(correct[match].mean()) if match.any() else None,
        "same_character_matched": float(match[correct].mean()) if correct.any() else None,
    }
    if photos is not None:
        best = (photos @ emb.T).max(axis=1)  # (p,)
        out["photos"] = len(photos)
        out["photos_matched"] = float((best >= threshold).mean())
    return out


def verdict_pairs(manifest: Manifest, root: Path, *, per_kind: int, seed: int) -> list[Pair]:
    """`per_kind` pairs of each kind for every character, drawn with a seeded generator."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[Path]] = defaultdict(list)
    for relpath, label in manifest:
        by_label[str(label)].append(root / relpath)
    labels = sorted(by_label)
    pairs: list[Pair] = []
    for label in labels:
        mine = by_label[label]
        alphabet = label.split("/")[0]
        near = [x for x in labels if x != label and x.split("/")[0] == alphabet]
        far = [x for x in labels if x.split("/")[0] != alphabet]
        for _ in range(per_kind):
            a, b = rng.choice(len(mine), size=2, replace=False)
            pairs.append((mine[a], mine[b], PAIR_KINDS[0]))
            for kind, pool in ((PAIR_KINDS[1], near), (PAIR_KINDS[2], far)):
                other = by_label[pool[int(rng.integers(len(pool)))]]
                pairs.append((mine[a], other[int(rng.integers(len(other)))], kind))
    return pairs


def verdicts(rt: Runtime, pairs: list[Pair]) -> dict[str, Any]:
    """Compare's verdicts on the pairs: accuracy by kind, and the EER threshold's for context."""
    results = [compare_images(rt.engine, a.read_bytes(), b.read_bytes()) for a, b, _ in pairs]
    kinds = np.array([kind for _, _, kind in pairs])
    same = kinds == PAIR_KINDS[0]
    scores = np.array([r.similarity for r in results])
    eer = verification_metrics(scores, same)
    at_eer = (scores >= eer["eer_threshold"]) == same
    out: dict[str, Any] = {
        "pairs": len(pairs),
        "roc_auc": roc_auc(scores, same),
        "eer": eer["eer"],
        "eer_threshold": eer["eer_threshold"],
        "accuracy_at_eer_threshold": float(at_eer.mean()),
        "threshold": results[0].threshold,
        "threshold_source": results[0].threshold_source,
    }
    decided = np.array([r.same for r in results], dtype=object)
    if any(v is None for v in decided):
        return out | {"verdict_accuracy": None}  # no calibration: no verdicts
    right = decided.astype(bool) == same
    out["verdict_accuracy"] = float(right.mean())
    for kind in PAIR_KINDS:
        out[f"verdict_accuracy_{kind.replace(' ', '_')}"] = float(right[kinds == kind].mean())
    return out


def photo_embeddings(model_path: str | None, count: int) -> np.ndarray | None:
    """Embeddings of `count` caltech101-7 photos, or None without the shared data."""
    if not PHOTOS.is_dir():
        return None
    manifest = read_manifest(PHOTOS)[::7][:count]
    return embed(model_path, PHOTOS, manifest)


def score_model(
    name: str, model_path: str | None, pairs: list[Pair], args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    root = demo_catalog()
    manifest = read_manifest(root)
    labels = np.asarray([str(label) for _, label in manifest])
    emb = embed(model_path, root, manifest)
    rt = runtime_for(None if model_path is None else Path(model_path), tmp / name)
    calibration = calibrations_of(rt.serving.current().embedder.metadata).get("cosine")
    threshold = None if calibration is None else calibration.threshold
    photos = photo_embeddings(model_path, args.photos)
    result = {
        "model": model_path or "off-the-shelf",
        "version": rt.serving.version,
        "retrieval": retrieval(emb, labels, trials=args.trials, seed=args.seed),
        "compare": verdicts(rt, pairs),
        "badges": badges(emb, labels, threshold, photos),
    }
    rt.sessions.kw["bind"].dispose()
    print(f"{name}: {result}", file=sys.stderr)
    return result


ROWS = (
    ("retrieval", "map@r", "mAP@R (480 drawings, each queries the rest)"),
    ("retrieval", "p@1", "P@1"),
    ("retrieval", "one_shot_20way_across", "20-way one-shot, across alphabets"),
    ("retrieval", "one_shot_6way_within", "6-way one-shot, within an alphabet"),
    ("compare", "verdict_accuracy", "Compare verdict accuracy, shipped calibration"),
    ("compare", "verdict_accuracy_same_character", "— two drawings of one character: SAME"),
    ("compare", "verdict_accuracy_same_alphabet", "— two characters of one alphabet: DIFFERENT"),
    ("compare", "verdict_accuracy_other_alphabet", "— characters of two alphabets: DIFFERENT"),
    ("compare", "roc_auc", "Compare ROC AUC"),
    (
        "compare",
        "accuracy_at_eer_threshold",
        "accuracy at the EER threshold of these pairs (oracle)",
    ),
    ("badges", "matches_per_query", "results of 12 badged match, per query"),
    ("badges", "match_precision", "badged matches that are the query's character"),
    ("badges", "photos_matched", "photos badged match for their nearest drawing"),
)


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        "| measure | shipped demo model | off-the-shelf |",
        "| --- | --- | --- |",
    ]
    for group, key, name in ROWS:
        cells = [_cell(results[column][group].get(key)) for column in ("demo", "off_the_shelf")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    threshold = results["demo"]["compare"]["threshold"]
    lines += [
        "",
        f"Demo model {results['demo']['version']}, calibrated cosine threshold {threshold:.3f}; "
        f"off-the-shelf {results['off_the_shelf']['version']} (no calibration: no verdicts, "
        f"n/a). {results['demo']['compare']['pairs']} pairs. Made by `{command}`.",
    ]
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(demo_model()), help="the demo checkpoint")
    parser.add_argument("--trials", type=int, default=2000, help="one-shot trials")
    parser.add_argument("--per-kind", type=int, default=5, help="Compare pairs per character")
    parser.add_argument("--photos", type=int, default=50, help="caltech101-7 photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "demo_model.json")
    args = parser.parse_args()
    command = " ".join([".venv/bin/python", "benchmarks/demo_model.py", *sys.argv[1:]])
    pairs = verdict_pairs(
        read_manifest(demo_catalog()), demo_catalog(), per_kind=args.per_kind, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "demo": score_model("demo", args.model, pairs, args, Path(tmp)),
            "off_the_shelf": score_model("off_the_shelf", None, pairs, args, Path(tmp)),
            "command": command,
        }
    write_report(args.out, results, markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
