"""Text and tables about a finished run, shared by the app and the model card."""

from __future__ import annotations

from .history import QUALITY_FIELDS, STAT_NAMES, History, final_quality, final_scores

TABLE_HEADERS = ["epoch", *STAT_NAMES, "seconds", *QUALITY_FIELDS]


def score_table(history: History) -> list[list]:
    """One row per epoch; the quality columns are empty where the epoch was not evaluated."""
    return [
        [
            row["epoch"],
            *(round(row[name], 4) for name in STAT_NAMES),
            row.get("seconds"),
            *(row.get("quality", {}).get(name) for name in QUALITY_FIELDS),
        ]
        for row in history.get("epochs", [])
    ]


def quality_summary(history: History) -> str:
    row = final_quality(history)
    if row is None:
        return "No sample-quality figures were recorded for this run (train.py --eval-every)."
    quality = row["quality"]
    shares = ", ".join(
        f"{digit}: {100 * share:.1f}%" for digit, share in enumerate(quality["digit_histogram"])
    )
    text = (
        f"Sample quality after epoch {row['epoch']} ({quality['samples']:,} samples, judged by an MNIST "
        f"classifier): MNIST-FD {quality['mnist_fd']:.2f} (real test images: about 2), Inception Score "
        f"{quality['inception_score']:.2f} (real: about 9.8), "
        f"mean confidence {quality['mean_confidence']:.3f}. "
        f"Digits drawn: {shares}."
    )
    if "quality_raw" in row:
        text += (
            f" The raw generator (without weight averaging): MNIST-FD {row['quality_raw']['mnist_fd']:.2f}, "
            f"IS {row['quality_raw']['inception_score']:.2f}."
        )
    return text


def training_summary(history: History) -> str:
    """One paragraph: epochs, final scores, time and device."""
    last = final_scores(history)
    if last is None:
        return "No training epochs recorded."
    meta = history.get("meta", {})
    seconds = meta.get("training_seconds")
    time_text = f" in {seconds:.0f} s of training" if isinstance(seconds, (int, float)) else ""
    device = meta.get("device_name", "an unrecorded device")
    return (
        f"Trained {last['epoch']} epochs{time_text} on {device}. Final epoch means: "
        f"D(x) = {last['d_x']:.3f}, D(G(z)) = {last['d_g_z']:.3f}, "
        f"D loss = {last['d_loss']:.3f}, G loss = {last['g_loss']:.3f}."
    )
