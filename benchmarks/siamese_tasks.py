"""The Siamese use cases, default model vs trained model, through the product's own code.

Every figure goes through what the API and CLI call: `compare_images` for verification and
`GalleryService` (enrol, identify with its calibrated threshold) for recognition.

- verification (ROC AUC, EER, accuracy of the calibrated same/different verdict):
  faces-small/pairs.csv; signatures of the writers train_quality.py held out from training,
  genuine-genuine pairs "same", genuine-forgery pairs "different";
- one-shot N-way accuracy: galleries of N characters of one held-out Omniglot alphabet
  (Greek, Latin), one drawing enrolled per character, another drawing as the query;
- open-set accuracy: a gallery of half the characters of an alphabet; queries of enrolled
  characters must get their label, queries of the other half must get "unknown" (None).

Trained models are the checkpoints `train_quality.py` keeps in RESULTS/models/<set>.pt
(trained on other alphabets and writers). Writes RESULTS/siamese_tasks.json and .md.

    .venv/bin/python benchmarks/siamese_tasks.py [--results DIR] [--episodes 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._protocols import OMNIGLOT, SIGNATURES, Row, read_rows  # noqa: E402
from benchmarks._results import RESULTS, write_report  # noqa: E402
from indexer.catalog.settings import Settings  # noqa: E402
from indexer.encoder.verification import roc_auc, verification_metrics  # noqa: E402
from search.compare import compare_images  # noqa: E402
from search.runtime import Runtime, build_runtime  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def runtime_for(model: Path | None, home: Path) -> Runtime:
    """A fresh embedded runtime (its own SQLite catalog) serving `model` (None: default)."""
    home.mkdir(parents=True)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite'}", device="cpu")
    return build_runtime(replace(settings, model=str(model) if model else None), load="lazy")


def verification(rt: Runtime, pairs: list[tuple[Path, Path, bool]]) -> dict[str, Any]:
    """ROC AUC, EER and the calibrated verdict's accuracy over labelled pairs."""
    cache: dict[Path, bytes] = {}

    def data(path: Path) -> bytes:
        return cache.setdefault(path, path.read_bytes())

    results = [compare_images(rt.engine, data(a), data(b)) for a, b, _ in pairs]
    same = np.array([s for _, _, s in pairs])
    scores = np.array([r.similarity for r in results])
    verdicts = [r.same for r in results]
    decided = [v == s for v, s in zip(verdicts, same, strict=True) if v is not None]
    return {
        "pairs": len(pairs),
        "roc_auc": roc_auc(scores, same),
        "eer": verification_metrics(scores, same)["eer"],
        "verdict_accuracy": float(np.mean(decided)) if decided else None,
        "threshold_source": results[0].threshold_source,
    }


def face_pairs() -> list[tuple[Path, Path, bool]]:
    root = DATA / "faces-small"
    lines = (root / "pairs.csv").read_text().splitlines()[1:]
    rows = [line.split(",") for line in lines]
    return [(root / a, root / b, s.strip() == "1") for a, b, s in rows]


def signature_pairs(per_writer: int = 4) -> list[tuple[Path, Path, bool]]:
    """Genuine-genuine and genuine-forgery pairs of the writers held out from training."""
    root = DATA / SIGNATURES.folder
    _, test = SIGNATURES.split(read_rows(root / "labels.csv"))
    by_label = _by_label(test)
    pairs = []
    for label in sorted(label for label in by_label if not label.endswith("_forg")):
        genuine, forged = by_label[label], by_label.get(f"{label}_forg", [])
        anchor = root / genuine[0]
        pairs += [(anchor, root / p, True) for p in genuine[1 : 1 + per_writer]]
        pairs += [(anchor, root / p, False) for p in forged[:per_writer]]
    return pairs


def _by_label(rows: list[Row]) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    for relpath, label in rows:
        by_label[label].append(relpath)
    return {label: sorted(paths) for label, paths in sorted(by_label.items())}


def omniglot_alphabets() -> dict[str, dict[str, list[Path]]]:
    """The held-out alphabets: alphabet -> character -> drawings."""
    root = DATA / OMNIGLOT.folder
    _, test = OMNIGLOT.split(read_rows(root / "labels.csv"))
    alphabets: dict[str, dict[str, list[Path]]] = defaultdict(dict)
    for label, paths in _by_label(test).items():
        alphabets[label.split("/")[0]][label] = [root / p for p in paths]
    return alphabets


def one_shot(rt: Runtime, alphabets: dict, *, way: int, episodes: int, seed: int) -> dict:
    """N-way one-shot accuracy over `episodes` galleries per alphabet."""
    rng = np.random.default_rng(seed)
    correct: list[bool] = []
    for name, characters in alphabets.items():
        labels = sorted(characters)
        for episode in range(episodes):
            gallery = f"oneshot-{name}-{episode}"
            queries = {}
            for label in rng.choice(labels, size=min(way, len(labels)), replace=False):
                ref, query = rng.choice(len(characters[label]), size=2, replace=False)
                rt.galleries.enrol(gallery, label=label, data=characters[label][ref].read_bytes())
                queries[label] = characters[label][query]
            for label, drawing in queries.items():
                answer = rt.galleries.identify(gallery, drawing.read_bytes(), top=1)
                correct.append(answer.candidates[0].label == label)
    return {"way": way, "queries": len(correct), "accuracy": float(np.mean(correct))}


def open_set(rt: Runtime, alphabets: dict, *, episodes: int, seed: int) -> dict:
    """Accuracy when half the characters are enrolled and the other half must be unknown."""
    rng = np.random.default_rng(seed)
    known_ok: list[bool] = []
    unknown_ok: list[bool] = []
    sources: set[str] = set()
    for name, characters in alphabets.items():
        labels = sorted(characters)
        for episode in range(episodes):
            order = rng.permutation(labels)
            enrolled, strangers = order[: len(order) // 2], order[len(order) // 2 :]
            gallery = f"openset-{name}-{episode}"
            queries = {}
            for label in enrolled:
                ref, query = rng.choice(len(characters[label]), size=2, replace=False)
                rt.galleries.enrol(gallery, label=label, data=characters[label][ref].read_bytes())
                queries[label] = characters[label][query]
            for label, drawing in queries.items():
                answer = rt.galleries.identify(gallery, drawing.read_bytes(), top=1)
                known_ok.append(answer.label == label)
                sources.add(answer.threshold_source)
            for label in strangers:
                drawing = characters[label][int(rng.integers(len(characters[label])))]
                answer = rt.galleries.identify(gallery, drawing.read_bytes(), top=1)
                unknown_ok.append(answer.label is None)
    return {
        "queries": len(known_ok) + len(unknown_ok),
        "accuracy": float(np.mean(known_ok + unknown_ok)),
        "known_correct": float(np.mean(known_ok)),
        "unknown_rejected": float(np.mean(unknown_ok)),
        "threshold_source": ",".join(sorted(sources)),
    }


TASKS = {
    # task: (what it measures, the train_quality model trained for its domain or None)
    "faces_verification": ("faces-small pairs.csv", None),
    "signature_verification": ("held-out writers, genuine vs skilled forgery", "signatures"),
    "omniglot_one_shot": ("Greek + Latin (held out), 20-way within alphabet", "omniglot"),
    "omniglot_open_set": ("Greek + Latin, half enrolled, half must be unknown", "omniglot"),
}


def run_task(task: str, rt: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    if task == "faces_verification":
        return verification(rt, face_pairs())
    if task == "signature_verification":
        return verification(rt, signature_pairs())
    alphabets = omniglot_alphabets()
    if task == "omniglot_one_shot":
        return one_shot(rt, alphabets, way=20, episodes=args.episodes, seed=args.seed)
    return open_set(rt, alphabets, episodes=args.episodes, seed=args.seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="train_quality's folder")
    parser.add_argument("--episodes", type=int, default=10, help="galleries per alphabet")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runtimes: dict[str | None, Runtime] = {}
        for task, (what, trained) in TASKS.items():
            entry: dict[str, Any] = {"what": what}
            for column, key in (("off_the_shelf", None), ("trained", trained)):
                model = None if key is None else args.results / "models" / f"{key}.pt"
                if column == "trained" and (model is None or not model.is_file()):
                    entry[column] = None  # no model trained for this domain
                    continue
                if key not in runtimes:
                    runtimes[key] = runtime_for(model, Path(tmp) / (key or "default"))
                started = time.perf_counter()
                entry[column] = run_task(task, runtimes[key], args)
                entry[column]["model"] = str(model) if model else "off-the-shelf"
                entry[column]["seconds"] = round(time.perf_counter() - started, 1)
                print(f"{task} {column}: {entry[column]}", file=sys.stderr)
            results[task] = entry
    write_report(args.results / "siamese_tasks.json", results, markdown(results))
    return 0


HEADLINES = {
    "faces_verification": ("roc_auc", "eer", "verdict_accuracy"),
    "signature_verification": ("roc_auc", "eer", "verdict_accuracy"),
    "omniglot_one_shot": ("accuracy",),
    "omniglot_open_set": ("accuracy", "known_correct", "unknown_rejected"),
}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| task | set | metric | off-the-shelf | trained |",
        "| --- | --- | --- | --- | --- |",
    ]
    for task, entry in results.items():
        for i, metric in enumerate(HEADLINES[task]):
            cells = [_cell(entry[c], metric) for c in ("off_the_shelf", "trained")]
            where = f"{task.replace('_', ' ')} | {entry['what']}" if i == 0 else " |"
            lines.append(f"| {where} | {metric.replace('_', ' ')} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _cell(result: dict[str, Any] | None, metric: str) -> str:
    if result is None:
        return "n/a"
    value = result.get(metric)
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
