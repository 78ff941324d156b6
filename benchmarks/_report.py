"""The markdown report of `train_quality.py`: the off-the-shelf vs trained table, the
targets of issue 3 item 12, and how each row was made (split sizes, timings, command)."""

from __future__ import annotations

from typing import Any

from benchmarks._protocols import LOWER_IS_BETTER

ONE_SHOT_TARGET = 0.92  # Koch et al. 2015, 20-way within-alphabet one-shot
NAMES = {"map@r": "mAP@R", "recall@1": "R@1", "eer": "EER (lower is better)"}


def metric_name(key: str, metrics: dict[str, float]) -> str:
    if key == "one_shot_accuracy":
        return f"{int(metrics.get('one_shot_n_way', 0))}-way one-shot accuracy"
    return NAMES.get(key, key)


def gain(key: str, off: float, trained: float) -> float:
    """Improvement of trained over off-the-shelf: positive is better, whatever the metric."""
    return off - trained if key in LOWER_IS_BETTER else trained - off


def beats(entry: dict[str, Any]) -> bool:
    """Does the trained model beat the off-the-shelf one on the set's headline metric?"""
    key = entry["headline"]
    off, ours = entry["off_the_shelf"]["metrics"][key], entry["trained"]["metrics"][key]
    return gain(key, off, ours) > 0


def rows(results: dict[str, Any]) -> list[str]:
    lines = [
        "| set | protocol | metric | off-the-shelf | trained | gain |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results.values():
        off, ours = entry["off_the_shelf"]["metrics"], entry["trained"]["metrics"]
        for i, key in enumerate(entry["metrics"]):
            name = metric_name(key, ours)
            if key == entry["headline"]:
                name = f"**{name}**"
            where = f"{entry['set']} | {entry['protocol']}" if i == 0 else " |"
            lines.append(
                f"| {where} | {name} | {off[key]:.3f} | {ours[key]:.3f} | "
                f"{gain(key, off[key], ours[key]):+.3f} |"
            )
    return lines


def targets(results: dict[str, Any]) -> list[str]:
    lines = ["", "Targets (issue 3, item 12):", ""]
    if "omniglot" in results:
        accuracy = results["omniglot"]["trained"]["metrics"]["one_shot_accuracy"]
        verdict = "met" if accuracy >= ONE_SHOT_TARGET else "NOT met"
        lines.append(
            f"- Omniglot 20-way one-shot >= {ONE_SHOT_TARGET:.0%}: {accuracy:.1%}, {verdict}"
        )
    for entry in results.values():
        name = metric_name(entry["headline"], entry["trained"]["metrics"])
        verdict = "yes" if beats(entry) else "NO"
        lines.append(f"- trained beats off-the-shelf on {entry['set']} ({name}): {verdict}")
    return lines


def runs(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "| set | train images / labels | test images scored / labels | epochs | train s "
        "| evaluate s (off-the-shelf / trained) | command |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results.values():
        split, sec = entry["split"], entry["seconds"]
        lines.append(
            f"| {entry['set']} | {split['train_images']} / {split['train_labels']} | "
            f"{entry['trained']['info']['n_images']} / {len(split['test_labels'])} | "
            f"{entry['training']['epochs']} | {sec['train']:.0f} | "
            f"{sec['evaluate_off_the_shelf']:.0f} / {sec['evaluate_trained']:.0f} | "
            f"`{entry['command']}` |"
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report; bold metrics decide whether training beat the off-the-shelf model."""
    quick = any(entry["quick"] for entry in results.values())
    head = ["# Training quality: off-the-shelf vs trained", ""]
    if quick:
        head += ["**Quick smoke run: a few training steps, not the benchmark.**", ""]
    return "\n".join(head + rows(results) + targets(results) + runs(results))
