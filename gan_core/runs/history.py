"""history.json: what a run records, its types, and every way the package reads it.

    {"config": {...TrainConfig.to_dict()...}, "meta": {"device", "torch", ...},
     "epochs": [{"epoch": 1, "d_loss", "g_loss", "d_x", "d_g_z", "seconds", ["lr"], ["quality"]}, ...]}

Each epoch row holds the epoch's means over all batches. Other modules read the history through
the types and functions here rather than spelling its keys themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TypedDict

from gan_core.io import read_bounded

# The per-step statistics, in the order train_step returns them; an epoch row holds their means.
STAT_NAMES = ("d_loss", "g_loss", "d_x", "d_g_z")
QUALITY_FIELDS = ("mnist_fd", "inception_score", "kl_to_uniform", "mean_confidence")
# A 300-epoch history is about 60 KB; 32 MB is over 100,000 evaluated epochs, and keeps a hostile
# file from filling the app's memory (its text reaches every page's /config).
MAX_HISTORY_BYTES = 32 * 1024 * 1024
MAX_TEXT = 500  # characters of one string from a history (a device name, a path) that are kept
MAX_LIST = 100  # items of one list value in config or meta


class Quality(TypedDict):
    mnist_fd: float
    inception_score: float
    digit_histogram: list[float]  # share of each predicted digit 0-9
    kl_to_uniform: float
    mean_confidence: float
    samples: int


class EpochRecord(TypedDict, total=False):
    epoch: int
    d_loss: float
    g_loss: float
    d_x: float
    d_g_z: float
    seconds: float
    lr: float  # only with a learning-rate decay
    quality: Quality  # only on evaluated epochs: the published generator's figures
    quality_raw: Quality  # with EMA on, the raw generator's beside them


class History(TypedDict):
    config: dict  # TrainConfig.to_dict()
    meta: dict  # device, device_name, torch, path, training_seconds, setup_seconds
    epochs: list[EpochRecord]


def new_history(config: dict, meta: dict) -> History:
    return {"config": dict(config), "meta": dict(meta), "epochs": []}


def epoch_record(epoch: int, means: dict[str, float], seconds: float) -> EpochRecord:
    """One history row: the epoch's means over all batches, not the last batch's values."""
    record: EpochRecord = {"epoch": int(epoch)}
    record.update({name: float(means[name]) for name in STAT_NAMES})
    record["seconds"] = round(float(seconds), 4)
    return record


def add_epoch(history: History, record: EpochRecord) -> None:
    history["epochs"].append(record)
    history["meta"]["training_seconds"] = round(
        history["meta"].get("training_seconds", 0.0) + record["seconds"], 3
    )


def read_history(path: str | Path) -> History:
    """Read history.json; a missing or malformed file is a clear ValueError."""
    path = Path(path)
    data = read_bounded(path, MAX_HISTORY_BYTES)  # a FIFO, a device or a huge file: a ValueError
    try:
        history = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        raise ValueError(f"{path} has no 'epochs' list")
    return checked_history(history)


def checked_history(raw: dict) -> History:
    """A history from outside (a Hub repo, a hand edit, another version), reduced to what is sound:
    epoch rows with finite numbers in increasing order, quality figures only where complete, and
    config and meta values of plain types. What is left can always be shown."""
    epochs: list[EpochRecord] = []
    for row in raw["epochs"]:
        if (
            not isinstance(row, dict)
            or not _whole(row.get("epoch"))
            or not all(map(is_finite, _get(row, STAT_NAMES)))
        ):
            continue
        if epochs and row["epoch"] <= epochs[-1]["epoch"]:
            continue
        record: EpochRecord = {"epoch": row["epoch"], **{name: float(row[name]) for name in STAT_NAMES}}
        record.update({key: float(row[key]) for key in ("seconds", "lr") if is_finite(row.get(key))})
        record.update({key: row[key] for key in ("quality", "quality_raw") if _sound_quality(row.get(key))})
        epochs.append(record)
    return {"config": _plain(raw.get("config")), "meta": _plain(raw.get("meta")), "epochs": epochs}


def _get(row: dict, names) -> list:
    return [row.get(name) for name in names]


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _sound_quality(quality) -> bool:
    if not isinstance(quality, dict) or not all(map(is_finite, _get(quality, QUALITY_FIELDS))):
        return False
    histogram = quality.get("digit_histogram")
    return (
        isinstance(histogram, list)
        and len(histogram) == 10
        and all(map(is_finite, histogram))
        and _whole(quality.get("samples"))
    )


def _plain(values, depth: int = 0) -> dict:
    """Only the values a card or a page can print: numbers, text (cut to MAX_TEXT characters), short
    lists of them, and dicts of them nested a few levels."""
    if not isinstance(values, dict) or depth > 3:
        return {}
    plain = (str, int, float, bool, type(None))
    kept = {}
    for key, value in values.items():
        if not isinstance(key, str) or len(key) > MAX_TEXT:
            continue
        if isinstance(value, dict):
            kept[key] = _plain(value, depth + 1)
        elif isinstance(value, plain):
            kept[key] = _short(value)
        elif isinstance(value, list) and len(value) <= MAX_LIST and all(isinstance(v, plain) for v in value):
            kept[key] = [_short(item) for item in value]
    return kept


def _short(value):
    return value[:MAX_TEXT] + "…" if isinstance(value, str) and len(value) > MAX_TEXT else value


def column(history: History, name: str) -> list[float]:
    return [row[name] for row in history.get("epochs", [])]


def epoch_count(history: History) -> int:
    return len(history.get("epochs", []))


def final_scores(history: History) -> EpochRecord | None:
    return history["epochs"][-1] if history.get("epochs") else None


def quality_rows(history: History) -> list[EpochRecord]:
    """The epochs that carry sample-quality figures (train.py --eval-every)."""
    return [row for row in history.get("epochs", []) if "quality" in row]


def final_quality(history: History) -> EpochRecord | None:
    """The last row with quality figures (the published generator's), with the raw ones if any."""
    rows = quality_rows(history)
    return rows[-1] if rows else None


def is_finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
