"""Text and tables about a finished run, shared by the app and the model card."""
from __future__ import annotations

from pathlib import Path

from .checkpoint import SAMPLES_DIR
from .history import EPOCH_FIELDS, quality_rows

QUALITY_FIELDS = ("mnist_fd", "inception_score", "kl_to_uniform", "mean_confidence")
TABLE_HEADERS = ["epoch", *EPOCH_FIELDS, "seconds", *QUALITY_FIELDS]


def score_table(history: dict) -> list[list]:
    """One row per epoch; the quality columns are empty where the epoch was not evaluated."""
    return [[row["epoch"], *(round(row[name], 4) for name in EPOCH_FIELDS), row.get("seconds"),
             *(row.get("quality", {}).get(name) for name in QUALITY_FIELDS)]
            for row in history.get("epochs", [])]


def final_quality(history: dict) -> dict | None:
    """The last quality figures recorded (the published generator's), with the raw ones if any."""
    rows = quality_rows(history)
    return rows[-1] if rows else None


def quality_summary(history: dict) -> str:
    row = final_quality(history)
    if row is None:
        return "No sample-quality figures were recorded for this run (train.py --eval-every)."
    quality = row["quality"]
    shares = ", ".join(f"{digit}: {100 * share:.1f}%" for digit, share in enumerate(quality["digit_histogram"]))
    text = (f"Sample quality after epoch {row['epoch']} ({quality['samples']:,} samples, judged by an MNIST "
            f"classifier): MNIST-FD {quality['mnist_fd']:.2f} (real test images: about 2), Inception Score "
            f"{quality['inception_score']:.2f} (real: about 9.8), mean confidence {quality['mean_confidence']:.3f}. "
            f"Digits drawn: {shares}.")
    if "quality_raw" in row:
        text += (f" The raw generator (without weight averaging): MNIST-FD {row['quality_raw']['mnist_fd']:.2f}, "
                 f"IS {row['quality_raw']['inception_score']:.2f}.")
    return text


def final_scores(history: dict) -> dict | None:
    return history["epochs"][-1] if history.get("epochs") else None


def training_summary(history: dict) -> str:
    """One paragraph: epochs, final scores, time and device."""
    last = final_scores(history)
    if last is None:
        return "No training epochs recorded."
    meta = history.get("meta", {})
    seconds = meta.get("training_seconds")
    time_text = f" in {seconds:.0f} s of training" if isinstance(seconds, (int, float)) else ""
    device = meta.get("device_name", "an unrecorded device")
    return (f"Trained {last['epoch']} epochs{time_text} on {device}. Final epoch means: "
            f"D(x) = {last['d_x']:.3f}, D(G(z)) = {last['d_g_z']:.3f}, "
            f"D loss = {last['d_loss']:.3f}, G loss = {last['g_loss']:.3f}.")


def sample_epochs(run_dir: str | Path) -> list[int]:
    """Epochs whose fixed-noise sample grid is in the run directory, ascending."""
    folder = Path(run_dir) / SAMPLES_DIR
    epochs = []
    for path in folder.glob("epoch_*.png"):
        try:
            epochs.append(int(path.stem.removeprefix("epoch_")))
        except ValueError:
            continue
    return sorted(epochs)


def nearest_sample_epoch(available: list[int], wanted: int) -> int | None:
    """The latest sampled epoch at or before `wanted` (the first one if none is)."""
    if not available:
        return None
    earlier = [epoch for epoch in available if epoch <= wanted]
    return earlier[-1] if earlier else available[0]
