"""Text and tables about a finished run, shared by the app and the model card."""

from __future__ import annotations

from gan_core.config import RECIPES, Recipe, TrainConfig, recipe_name
from gan_core.messages import markdown_text
from gan_core.runs.history import QUALITY_FIELDS, STAT_NAMES, History, final_quality, final_scores

# The table's column titles as a reader knows them; the columns are STAT_NAMES and QUALITY_FIELDS.
TABLE_HEADERS = ["epoch", "D loss", "G loss", "D(x)", "D(G(z))", "seconds", "MNIST-FD", "IS", "KL to uniform",
                 "confidence"]  # fmt: skip
MAX_TABLE_ROWS = 500  # a long run's table is thinned to this many rows, so a page stays small


def shown_rows(history: History, limit: int = MAX_TABLE_ROWS) -> list:
    """At most `limit` epoch rows, evenly spread, with the first and the last epochs, and up to half
    of them evaluated epochs (all of them when there are few): a long run evaluated every few
    epochs must not bring its whole history back through the evaluated rows."""
    rows = history.get("epochs", [])
    if len(rows) <= limit:
        return rows
    evaluated = evenly_spread([row for row in rows if "quality" in row], limit // 2)
    kept = {id(row) for row in evaluated + evenly_spread(rows, limit - len(evaluated))}
    return [row for row in rows if id(row) in kept]


def evenly_spread(rows: list, count: int) -> list:
    """`count` of the rows (all when there are fewer), evenly spaced, the first and the last included."""
    if len(rows) <= count:
        return rows
    if count < 2:
        return rows[-count:] if count else []
    spacing = (len(rows) - 1) / (count - 1)
    return [rows[round(index * spacing)] for index in range(count)]


def score_table(history: History) -> list[list]:
    """One row per epoch (thinned for long runs); the quality columns are empty where the epoch was
    not evaluated."""
    return [
        [
            row["epoch"],
            *(round(row[name], 4) for name in STAT_NAMES),
            row.get("seconds"),
            *(row.get("quality", {}).get(name) for name in QUALITY_FIELDS),
        ]
        for row in shown_rows(history)
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
    device = markdown_text(recorded_device(meta))  # the run's text, not Markdown
    return (
        f"Trained {last['epoch']} epochs{time_text} on {device}. Final epoch means: "
        f"D(x) = {last['d_x']:.3f}, D(G(z)) = {last['d_g_z']:.3f}, "
        f"D loss = {last['d_loss']:.3f}, G loss = {last['g_loss']:.3f}."
    )


def recorded_device(meta: dict) -> str:
    """The device a run trained on, as its history recorded it ("1 threads", as runs recorded one
    thread before 2026-12-07, reads "1 thread")."""
    return str(meta.get("device_name", "an unrecorded device")).replace(", 1 threads)", ", 1 thread)")


def recipe_label(config: dict) -> str:
    """The recipe a recorded run trained with, by the name whose settings it resolved to."""
    resolved = config.get("resolved")
    for name, recipe in RECIPES.items():
        if resolved == recipe.to_dict():
            return f"`{name}`"
    name = recipe_name(config.get("recipe", "tutorial"))
    # A name this version does not know is the history's own text: shown as text, not as code.
    shown_name = f"`{name}`" if name in RECIPES else markdown_text(name)
    return f"{shown_name} with changed settings (see Training)"


def card_rows(config: dict, meta: dict | None = None) -> list[tuple[str, object]]:
    """(label, value) for the model card: the recipe's settings as the run resolved them."""
    if not config:
        return []
    config = {**config, "recipe": recipe_name(config.get("recipe", "tutorial"))}
    resolved = {**RECIPES.get(config["recipe"], Recipe()).to_dict(), **config.get("resolved", {})}
    rows = []
    for name, rule in TrainConfig.settings().items():
        if rule.card is None:
            continue
        value = resolved.get(name) if name in resolved else config.get(name, getattr(TrainConfig(), name))
        if name == "subset":  # the number the run really trained on, where it was recorded
            images = (meta or {}).get("training_images")
            value = f"{images:,}" if images else "all 60,000" if value is None else value
        rows.append((rule.card, tuple(value) if isinstance(value, list) else value))
    return rows
