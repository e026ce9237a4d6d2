"""The run directory's file names. A run directory is also a model repo, so these names are a
contract with the Hub, the app and anyone who loads a run (see README, Layout).

This module imports nothing from the package, so every other module may import it.
"""

from __future__ import annotations

import re
from pathlib import Path

MODEL_FILE = "model.safetensors"  # the published generator: the EMA weights when EMA is on
RAW_MODEL_FILE = "generator_raw.safetensors"  # with EMA on, the last step's weights beside it
DISCRIMINATOR_FILE = "discriminator.safetensors"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
SCORES_FILE = "scores.png"
CARD_FILE = "README.md"
STATE_FILE = "training_state.pt"
REAL_IMAGES_FILE = "real_images.png"
HISTORY_JOURNAL_FILE = "history_journal.jsonl"  # rows not yet in history.json, one JSON line each
SAMPLES_DIR = "samples"
RUN_FILES = (MODEL_FILE, RAW_MODEL_FILE, DISCRIMINATOR_FILE, CONFIG_FILE, HISTORY_FILE, SCORES_FILE,
             CARD_FILE, STATE_FILE, REAL_IMAGES_FILE, HISTORY_JOURNAL_FILE)  # fmt: skip

# What a model repo holds; everything else in a run directory (discriminator, training state,
# stray files) stays local.
PUSH_PATTERNS = [
    MODEL_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    SCORES_FILE,
    REAL_IMAGES_FILE,
    f"{SAMPLES_DIR}/epoch_[0-9]*.png",  # the grids' own names: a PNG the user put there is theirs
    CARD_FILE,
]


SAMPLE_NAME = re.compile(rf"{SAMPLES_DIR}/epoch_(\d+)\.png")  # a grid's path in the run, and its epoch


def sample_path(run_dir: str | Path, epoch: int) -> Path:
    return Path(run_dir) / SAMPLES_DIR / f"epoch_{epoch:04d}.png"


def sample_epochs(run_dir: str | Path) -> list[int]:
    """Epochs whose fixed-noise sample grid is in the run directory, ascending."""
    return grid_epochs(
        f"{SAMPLES_DIR}/{path.name}" for path in (Path(run_dir) / SAMPLES_DIR).glob("epoch_*.png")
    )


def grid_epochs(names) -> list[int]:
    """The epochs of the sample grids among a run's or a repo's file names, ascending."""
    return sorted(int(match.group(1)) for name in names if (match := SAMPLE_NAME.fullmatch(name)))


def nearest_sample_epoch(available: list[int], wanted: int) -> int | None:
    """The latest sampled epoch at or before `wanted` (the first one if none is)."""
    if not available:
        return None
    earlier = [epoch for epoch in available if epoch <= wanted]
    return earlier[-1] if earlier else available[0]
