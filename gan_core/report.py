"""Text and tables about a finished run, shared by the app and the model card."""
from __future__ import annotations

from pathlib import Path

from .checkpoint import SAMPLES_DIR
from .history import EPOCH_FIELDS

TABLE_HEADERS = ["epoch", *EPOCH_FIELDS, "seconds"]


def score_table(history: dict) -> list[list]:
    return [[row["epoch"], *(round(row[name], 4) for name in EPOCH_FIELDS), row.get("seconds")]
            for row in history.get("epochs", [])]


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
