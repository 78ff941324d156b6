"""The training recipe chosen from the data: what `lookalike train` does without options.

`choose_recipe` turns a `DataProfile` (see `indexer.training.data_profile`) into a
`TrainConfig` and one reason per choice. The rules:

- Line art (grayscale, at least 95% of pixels ink or paper: handwritten characters,
  drawings): the `LINE_ART` recipe, a grayscale small CNN trained from scratch at a small
  input that keeps the strokes, no flips (a mirrored character is another character).
- Grayscale scans that are not line art (signatures, ink on paper: at least `SCAN_SHARE` of
  pixels near black or white): the `GRAYSCALE` recipe, the small CNN at the largest of
  32..128 px the images have, no flips.
- Grayscale photos (tones: fewer pixels near black or white) are treated like colour photos.
- Colour photos: the `PHOTO` recipe, pretrained EfficientNet-Lite0 with the backbone frozen
  (the head trains first; fine-tune later with --no-freeze-backbone when validation says it
  pays). On CPU the input shrinks below 224 px when `MIN_PASSES` passes over the images at
  224 px would not fit in the budget.
- Batches of P labels x K images: K is the fewest images of a label (2..4; 2 augmented views
  when unlabelled), P as many training labels as there are, up to 32 (photos on CPU: a batch
  of at most 32 images).
- Fewer than 10 labels: validation by image (a label-disjoint split would leave too few).
  Unlabelled folders train self-supervised on augmented views.
- Every option given explicitly (`overrides`) wins; `--grayscale` or `--backbone small_cnn`
  picks the small-CNN recipes, a pretrained backbone the photo recipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexer.training.budget import describe
from indexer.training.config import TrainConfig
from indexer.training.data_profile import DataProfile

# The line-art recipe measured in docs/training_recipes.md (benchmarks/oneshot_recipes.py):
# width 16 beat 32 and 64 in a 15-minute CPU budget, 48 px did not beat 32 px, batch-hard
# collapsed, batch-all did not; affine distortion + quarter turns as classes.
LINE_ART: dict[str, Any] = {
    "backbone": "small_cnn",
    "grayscale": True,
    "width": 16,
    "input_size": 32,
    "dim": 128,
    "flip": False,
    "lr": 3e-3,
    "miner": "all",
    "distortion": "affine",
    "rotations_as_classes": True,
    "steps_per_epoch": 50,
    "epochs": 1000,
    "patience": 40,
}
# Why each of the recipe-specific choices above is made, when a recipe makes it.
EXTRA_WHY = {
    "distortion": "random affine distortion of every drawing (Koch et al.'s ranges)",
    "rotations_as_classes": "each quarter turn of a character is a new class (Snell et al.)",
    "steps_per_epoch": "short epochs: validate and keep the best often",
    "epochs": "a ceiling: the time budget sizes the run",
    "patience": "epochs without a validation gain before stopping",
}
GRAYSCALE: dict[str, Any] = {
    "backbone": "small_cnn",
    "grayscale": True,
    "width": 32,
    "dim": 128,
    "flip": False,
    "lr": 3e-3,
}
PHOTO: dict[str, Any] = {
    "backbone": "efficientnet_lite0",
    "grayscale": False,
    "freeze_backbone": True,
    "dim": 256,
    "flip": True,
    "lr": 1e-3,
}
PHOTO_SIZES = (224, 192, 160, 128, 96)
SCAN_SIZES = (128, 96, 64, 32)
CPU_S_PER_IMAGE_224 = 0.08  # EfficientNet-Lite0 forward, one image at 224 px, 2 busy CPU cores
MIN_PASSES = 5
FEW_LABELS = 10
# Grayscale with fewer pixels near black or white than this is photographed tones (objects,
# faces), not ink on paper: the pretrained backbone, like colour photos. Measured: the
# signature scans 90%, coil20-32px's object photos 57%; the small CNN from scratch lost
# coil20-32px's unseen objects (mAP@R 0.703 against 0.938 untrained, benchmarks/default_runs.py).
SCAN_SHARE = 0.75
MAX_P = 32


def choose_recipe(
    profile: DataProfile,
    *,
    device: str,
    budget_s: float | None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[TrainConfig, list[str]]:
    """The TrainConfig for this data, device and budget, and one reason per choice.

    Raises ValueError when the overrides make an impossible configuration.
    """
    given = dict(overrides or {})
    chosen: dict[str, Any] = {}
    reasons: list[str] = []

    def choose(name: str, value: Any, why: str, shown: str | None = None) -> None:
        if name in given:
            value, why = given[name], "given"
        chosen[name] = value
        reasons.append(f"{name:<15} {value if shown is None else shown}  ({why})")

    base, why = _family(profile, given)
    choose("backbone", base["backbone"], why)
    small = chosen["backbone"] == "small_cnn"
    choose("grayscale", small and not profile.colour, _gray_why(profile, small))
    size, size_why = _input_size(profile, small, device, budget_s)
    if "input_size" in base:
        size, size_why = base["input_size"], "small enough to train fast, large enough for strokes"
    choose("input_size", size, size_why)
    if small:
        choose("width", base["width"], "first-stage channels of the small CNN")
    else:
        choose("freeze_backbone", base["freeze_backbone"], "pretrained: the head trains first")
    choose("dim", base["dim"], "embedding size")
    flip = base["flip"] and not chosen["grayscale"]
    choose("flip", flip, _flip_why(flip, profile.line_art))
    choose("lr", base["lr"], "from scratch" if small else "head on pretrained features")
    choose("miner", base.get("miner", "semi-hard"), "triplet loss, cosine distance")
    for name, extra_why in EXTRA_WHY.items():
        if name in base:
            choose(name, base[name], extra_why)
    _batch(profile, given, chosen, reasons, small=small, device=device)
    few = profile.supervised and profile.labels < FEW_LABELS
    choose("split", "images" if few else "labels", _split_why(profile, few))
    if profile.forgery_suffix or given.get("forgery_suffix"):
        suffix = profile.forgery_suffix
        choose("forgery_suffix", suffix, f"labels W{suffix} are skilled forgeries of W: "
               "validate by writer, keep the best genuine-vs-forgery ROC AUC")  # fmt: skip
    rest = {k: v for k, v in given.items() if k not in chosen}
    config = TrainConfig(**(chosen | rest))
    reasons.append(_schedule_why(config, budget_s))
    return config, reasons


def _family(profile: DataProfile, given: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The base recipe and why: the data's kind, unless a given option decides it."""
    backbone = given.get("backbone") or ("small_cnn" if given.get("grayscale") else None)
    tonal = not profile.colour and profile.extreme_share < SCAN_SHARE
    if backbone is None:
        backbone = "efficientnet_lite0" if profile.colour or tonal else "small_cnn"
    if backbone != "small_cnn":
        if tonal and "backbone" not in given:
            return PHOTO, (
                f"grayscale photos: only {profile.extreme_share:.0%} of pixels are near black "
                "or white (tones, not ink on paper): pretrained features"
            )
        return PHOTO, f"colour photos: {profile.colour_share:.0%} of sampled images in colour"
    if profile.line_art:
        return (
            LINE_ART,
            f"grayscale line art: {profile.extreme_share:.0%} of pixels are ink or paper",
        )
    return GRAYSCALE, (
        f"grayscale scans, not line art: {profile.extreme_share:.0%} of pixels are near black "
        "or white"
    )


def _gray_why(profile: DataProfile, small: bool) -> str:
    if not small:
        return "pretrained backbones take RGB"
    return "one channel: the images have no colour" if not profile.colour else "small CNN"


def _input_size(
    profile: DataProfile, small: bool, device: str, budget_s: float | None
) -> tuple[int, str]:
    side = profile.median_side
    if small:
        size = next((s for s in SCAN_SIZES if s <= side), SCAN_SIZES[-1])
        return size, f"the largest of {SCAN_SIZES[::-1]} px within the median side {side:.0f} px"
    if device != "cpu" or budget_s is None:
        return 224, "the pretrained backbone's resolution"
    passes_s = profile.images * CPU_S_PER_IMAGE_224 * MIN_PASSES
    for size in PHOTO_SIZES:
        if passes_s * (size / 224) ** 2 <= 0.8 * budget_s:
            break
    why = f"{MIN_PASSES} passes over {profile.images} images fit {describe(budget_s)} on CPU"
    return size, why if size == 224 else why + " only at this size"


def _batch(
    profile: DataProfile,
    given: Mapping[str, Any],
    chosen: dict[str, Any],
    reasons: list[str],
    *,
    small: bool,
    device: str,
) -> None:
    """P x K from the label counts; given values win."""
    k = 2 if not profile.supervised else min(4, max(2, profile.min_per_label))
    k = int(given.get("per_label", k))
    val = 0.0 if profile.labels < FEW_LABELS else float(given.get("val_fraction", 0.2))
    train_labels = max(2, profile.labels - round(val * profile.labels))
    p = min(MAX_P, train_labels)
    if not small and device == "cpu":
        p = min(p, max(2, MAX_P // k))
    p = int(given.get("batch_labels", max(2, p)))
    chosen["batch_labels"], chosen["per_label"] = p, k
    why = "given" if {"batch_labels", "per_label"} & set(given) else "from the label counts"
    views = "augmented views of each image" if not profile.supervised else "images per label"
    reasons.append(
        f"{'batch':<15} {p} x {k}  ({why}: {p} labels x {k} {views}; "
        f"{profile.labels} labels, at least {profile.min_per_label} images each)"
    )


def _flip_why(flip: bool, line_art: bool) -> str:
    if flip:
        return "mirror views of photos"
    if line_art:
        return "a mirrored stroke is another shape"
    return "grayscale scans and signatures are not mirror images"


def _split_why(profile: DataProfile, few: bool) -> str:
    if not profile.supervised:
        return "unlabelled: self-supervised, validated on held-out images"
    if few:
        return f"only {profile.labels} labels: validate on held-out images of each"
    return "validate on labels never seen in training"


def _schedule_why(config: TrainConfig, budget_s: float | None) -> str:
    fitted = f"sized to {describe(budget_s)} after timing a few steps" if budget_s else "no budget"
    return (
        f"{'schedule':<15} up to {config.epochs} epochs, early stop after {config.patience}  "
        f"({fitted})"
    )
