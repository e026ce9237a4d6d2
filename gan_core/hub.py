"""Run directories and the Hugging Face Hub: load a generator from a folder or a repo; push a run.

A run directory *is* a model repo, so loading reads the same files from either place.
"""

from __future__ import annotations

import importlib
import json
import re
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, constants, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

from .config import ModelConfig
from .history import History, epoch_count, read_history
from .layout import CARD_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE, PUSH_PATTERNS
from .messages import first_line
from .model_card import model_card
from .models import Generator
from .run_files import read_weights

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def check_repo_id(repo_id: str) -> str:
    if (
        not isinstance(repo_id, str)
        or not REPO_ID.match(repo_id)
        or ".." in repo_id
        or repo_id.endswith(".git")
    ):
        raise ValueError(
            f"{repo_id!r} is not a Hub repo id: expected USER/NAME (letters, digits, '-', '_', '.')"
        )
    return repo_id


def read_generator(run_dir: str | Path) -> Generator:
    """Rebuild the generator from config.json and load model.safetensors into it, strictly."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    try:
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
        raise ValueError(
            f"{run_dir / MODEL_FILE} does not match {config_path} ({first_line(error)})"
        ) from None
    return generator.eval()


def download_run(repo_id: str, revision: str | None = None) -> Path:
    """Fetch a model repo's files (from the local cache when HF_HUB_OFFLINE=1)."""
    return Path(
        snapshot_download(
            check_repo_id(repo_id), revision=revision, repo_type="model", allow_patterns=PUSH_PATTERNS
        )
    )


def resolve_run_dir(source: str | Path, revision: str | None = None) -> Path:
    """A local run directory as it is, or a Hub repo id downloaded (at `revision`)."""
    path = Path(source)
    return path if path.is_dir() else download_run(str(source), revision)


def load_generator(source: str | Path, revision: str | None = None) -> tuple[Generator, History]:
    """A local run directory, or a Hub repo id (at `revision`) -> (generator, history)."""
    run_dir = resolve_run_dir(source, revision)
    return read_generator(run_dir), read_history(run_dir / HISTORY_FILE)


# --------------------------------------------------------------------------------------------- #
# Pushing a run directory                                                                       #
# --------------------------------------------------------------------------------------------- #


class PushError(RuntimeError):
    """Pushing failed; the message says what to do, and the run directory is intact."""


def _transport_errors() -> tuple[type, ...]:
    """Connection failures: huggingface_hub 1.x raises httpx's, 2.x those of its successor httpx2."""
    classes = [OSError]
    for name in ("httpx", "httpx2"):
        try:
            classes.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


def _explain(error: Exception, repo_id: str, action: str) -> PushError:
    """One actionable sentence for each way the Hub can fail (never echoing the token)."""
    if isinstance(error, LocalTokenNotFoundError):
        return PushError(
            "no Hugging Face token found: run `hf auth login` or set HF_TOKEN to a token with write access"
        )
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return PushError(
                f"the Hub rejected the token while trying to {action} (401): run `hf auth login` "
                f"again or set HF_TOKEN to a valid token with write access"
            )
        if status == 403:
            return PushError(
                f"the token may not write to {repo_id} (403): use a repo under your own "
                f"namespace, or a token with write access to it"
            )
        if status == 404:
            return PushError(f"{repo_id} was not found while trying to {action} (404): check --repo-id")
        if status >= 500:
            return PushError(
                f"the Hub failed while trying to {action} ({status} {error.response.reason_phrase}); "
                f"it is probably a passing outage: try again later"
            )
        return PushError(f"the Hub refused to {action} ({status}): {first_line(error)}")
    if isinstance(error, _transport_errors()):
        return PushError(
            f"could not reach the Hub at {constants.ENDPOINT} while trying to {action} "
            f"({type(error).__name__}); check your connection and try again"
        )
    return PushError(f"could not {action}: {type(error).__name__}: {error}")


def check_push_access(repo_id: str, private: bool = False) -> str:
    """Before training: the token works and the repo exists (created if needed). Returns the user."""
    check_repo_id(repo_id)
    api = HfApi()
    try:
        user = api.whoami()["name"]
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    except Exception as error:
        raise _explain(error, repo_id, f"check access to {repo_id}") from None
    return user


def push_operations(run_dir: Path, card: str) -> list[CommitOperationAdd]:
    """One upload per file matching PUSH_PATTERNS (explicitly allowed, nothing else), and the
    model card from memory: pushing never writes into the run directory."""
    operations = [CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=card.encode("utf-8"))]
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir).as_posix()
        if path.is_file() and relative != CARD_FILE and any(fnmatch(relative, p) for p in PUSH_PATTERNS):
            operations.append(CommitOperationAdd(path_in_repo=relative, path_or_fileobj=str(path)))
    return operations


def push_run(run_dir: str | Path, repo_id: str, private: bool = False) -> str:
    """Upload a finished run directory as one commit; return the commit URL.

    Only PUSH_PATTERNS go up: never the discriminator, the training state or stray files.
    """
    run_dir = Path(run_dir)
    for required in (MODEL_FILE, CONFIG_FILE, HISTORY_FILE):
        if not (run_dir / required).is_file():
            raise PushError(
                f"{run_dir} is not a finished run: {required} is missing (train first, or check --out)"
            )
    history = read_history(run_dir / HISTORY_FILE)
    check_push_access(repo_id, private)
    card = model_card(history, run_dir, repo_id)
    try:
        commit = HfApi().create_commit(
            repo_id=repo_id,
            repo_type="model",
            operations=push_operations(run_dir, card),
            commit_message=f"Upload MNIST GAN run ({epoch_count(history)} epochs)",
        )
    except Exception as error:
        raise _explain(error, repo_id, f"upload {run_dir} to {repo_id}") from None
    return commit.commit_url
