"""Per-epoch training records and their JSON file (history.json)."""
from __future__ import annotations

import json
from pathlib import Path

EPOCH_FIELDS = ("d_loss", "g_loss", "d_x", "d_g_z")


def epoch_record(epoch: int, means: dict[str, float], seconds: float) -> dict:
    """One history row: the epoch's means over all batches, not the last batch's values."""
    record = {"epoch": int(epoch)}
    record.update({name: float(means[name]) for name in EPOCH_FIELDS})
    record["seconds"] = round(float(seconds), 4)
    return record


def new_history(config: dict, meta: dict) -> dict:
    return {"config": dict(config), "meta": dict(meta), "epochs": []}


def history_to_json(history: dict) -> str:
    return json.dumps(history, indent=2, allow_nan=False) + "\n"


def read_history(path: str | Path) -> dict:
    """Read history.json; a missing or malformed file is a clear ValueError."""
    path = Path(path)
    try:
        history = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        raise ValueError(f"{path} has no 'epochs' list")
    return history


def column(history: dict, name: str) -> list[float]:
    return [row[name] for row in history.get("epochs", [])]


def quality_rows(history: dict) -> list[dict]:
    """The epochs that carry sample-quality figures (train.py --eval-every)."""
    return [row for row in history.get("epochs", []) if "quality" in row]
