"""Run directories and the Hugging Face Hub: load a generator from a folder or a repo; push a run.

A run directory *is* a model repo, so loading reads the same files from either place.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, read_weights
from .config import ModelConfig
from .history import read_history
from .models import Generator

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
# What a model repo holds; everything else in a run directory (discriminator, training state,
# stray files) stays local.
PUSH_PATTERNS = ["model.safetensors", "config.json", "history.json", "scores.png", "real_images.png",
                 "samples/*.png", "README.md"]
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


@dataclass
class LoadedModel:
    generator: Generator
    history: dict
    source: str  # what the app's header says: "bundled weights" or "user/name @ revision"
    run_dir: Path  # where its files (sample grids, score plot) are
    notice: str | None = None  # why the requested model was not used, when it was not


def check_repo_id(repo_id: str) -> str:
    if not isinstance(repo_id, str) or not REPO_ID.match(repo_id) or ".." in repo_id or repo_id.endswith(".git"):
        raise ValueError(f"{repo_id!r} is not a Hub repo id: expected USER/NAME "
                         f"(letters, digits, '-', '_', '.')")
    return repo_id


def read_generator(run_dir: str | Path) -> Generator:
    """Rebuild the generator from config.json and load model.safetensors into it, strictly."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    try:
        import json

        model_config = ModelConfig.from_dict(json.loads(config_path.read_text()))
    except FileNotFoundError:
        raise ValueError(f"{config_path} is missing") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"{config_path} is not a valid generator config ({error})") from None
    generator = Generator(**model_config.to_dict())
    weights = read_weights(run_dir / MODEL_FILE)
    try:
        generator.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{run_dir / MODEL_FILE} does not match {config_path} "
                         f"({str(error).splitlines()[0]})") from None
    return generator.eval()


def download_run(repo_id: str, revision: str | None = None) -> Path:
    """Fetch a model repo's files (from the local cache when HF_HUB_OFFLINE=1)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(check_repo_id(repo_id), revision=revision, repo_type="model",
                                  allow_patterns=PUSH_PATTERNS))


def resolve_run_dir(source: str | Path, revision: str | None = None) -> Path:
    """A local run directory as it is, or a Hub repo id downloaded (at `revision`)."""
    path = Path(source)
    return path if path.is_dir() else download_run(str(source), revision)


def load_generator(source: str | Path, revision: str | None = None) -> tuple[Generator, dict]:
    """A local run directory, or a Hub repo id (at `revision`) -> (generator, history)."""
    run_dir = resolve_run_dir(source, revision)
    return read_generator(run_dir), read_history(run_dir / HISTORY_FILE)


def load_app_model(environ=os.environ) -> LoadedModel:
    """The app's model: MODEL_REPO (at MODEL_REVISION) if set and reachable, else the bundled
    weights, with a notice saying why."""
    repo_id = environ.get("MODEL_REPO", "").strip()
    revision = environ.get("MODEL_REVISION", "").strip() or None
    notice = None
    if repo_id:
        try:
            run_dir = resolve_run_dir(check_repo_id(repo_id), revision)
            generator, history = load_generator(run_dir)
            return LoadedModel(generator, history, f"{repo_id} @ {revision or 'main'}", run_dir)
        except Exception as error:  # unreachable Hub, missing repo, bad files: the demo still starts
            notice = (f"could not load MODEL_REPO={repo_id!r}"
                      f"{f' at {revision!r}' if revision else ''} ({type(error).__name__}: "
                      f"{str(error).splitlines()[0] if str(error) else ''}); serving the bundled weights")
    generator, history = load_generator(BUNDLED_WEIGHTS)
    return LoadedModel(generator, history, "bundled weights", BUNDLED_WEIGHTS, notice)
