"""Run directories and the Hugging Face Hub: load a generator from a folder or a repo; push a run.

A run directory *is* a model repo, so loading reads the same files from either place.
"""

from __future__ import annotations

import importlib
import json
import re
from fnmatch import fnmatch
from pathlib import Path

import torch
from huggingface_hub import CommitOperationAdd, HfApi, constants, get_session, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError
from safetensors import safe_open

from .claim import lock_run_directory
from .config import MAX_WIDTH, ModelConfig
from .history import History, epoch_count, read_history
from .latent import seeded_noise
from .layout import CARD_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE, PUSH_PATTERNS
from .messages import first_line, shown
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


def read_model_config(config_path: Path) -> ModelConfig:
    """config.json, checked against the bounds training allows before anything is allocated."""
    try:
        values = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{config_path} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{config_path} is not a valid generator config ({first_line(error)})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config_path} is not a valid generator config (not a JSON object)")
    sizes = {}
    for name, low, high in (
        ("latent_size", 1, MAX_WIDTH),
        ("hidden_size", 1, MAX_WIDTH),
        ("image_size", 784, 784),
    ):
        value = values.get(name, getattr(ModelConfig(), name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bounds = f"between {low} and {high}" if low != high else str(low)
            raise ValueError(f"{config_path}: {name} must be {bounds}, got {shown(value)}")
        sizes[name] = value
    return ModelConfig(**sizes)


def check_weight_shapes(weights_path: Path, model_config: ModelConfig, config_path: Path) -> None:
    """The tensors' names and shapes, read from the safetensors header, against the config."""
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = Generator(**model_config.to_dict())
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    try:
        with safe_open(str(weights_path), framework="pt") as weights:
            found = {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}
    except FileNotFoundError:
        raise ValueError(f"{weights_path} is missing") from None
    except Exception as error:  # safetensors raises its own SafetensorError
        raise ValueError(f"{weights_path} is not a readable safetensors file ({first_line(error)})") from None
    wrong = sorted(name for name in set(found) | set(expected) if found.get(name) != expected.get(name))
    if wrong:
        name = wrong[0]
        raise ValueError(
            f"{weights_path} does not match {config_path} ({name}: {found.get(name, 'missing')}, the config "
            f"needs {expected.get(name, 'no such tensor')})"
        )


def read_generator(run_dir: str | Path) -> Generator:
    """Rebuild the generator from config.json and load model.safetensors into it, strictly.

    Both files are untrusted input: sizes are checked before anything is allocated, the tensors'
    shapes (from the file's header) before they are read, and the weights before they are served.
    """
    run_dir = Path(run_dir)
    model_config = read_model_config(run_dir / CONFIG_FILE)
    check_weight_shapes(run_dir / MODEL_FILE, model_config, run_dir / CONFIG_FILE)
    generator = Generator(**model_config.to_dict())
    generator.load_state_dict(read_weights(run_dir / MODEL_FILE), strict=True)
    check_generator(generator, run_dir / MODEL_FILE)
    return generator.eval()


def check_generator(generator: Generator, weights_path: Path) -> None:
    """Finite weights, and digits that depend on the latent (a constant generator is broken)."""
    if not all(torch.isfinite(parameter).all() for parameter in generator.parameters()):
        raise ValueError(f"{weights_path} holds weights that are NaN or infinite")
    with torch.inference_mode():
        digits = generator(seeded_noise(0, 16, generator.latent_size))
    if float((digits.max(dim=0).values - digits.min(dim=0).values).max()) < 1e-3:
        raise ValueError(f"{weights_path} draws the same image for every latent: the generator is degenerate")


HUB_TIMEOUT_S = 10.0  # per connect and per read: a Hub that accepts and never answers fails after this


def bound_hub_calls() -> None:
    """Give huggingface_hub's shared HTTP client a timeout, so that a silent Hub delays the app's
    start or a push by seconds, not for ever. Its calls pass timeout=None ("wait for ever") to each
    request, which would override a client default, so the session's requests are built with ours."""
    session = get_session()
    if getattr(session, "bounded_by_mnist_gan", False):
        return
    build_request = session.build_request

    def bounded(*args, timeout=None, **kwargs):
        return build_request(*args, timeout=HUB_TIMEOUT_S if timeout is None else timeout, **kwargs)

    session.build_request = bounded
    session.bounded_by_mnist_gan = True


def download_run(repo_id: str, revision: str | None = None) -> Path:
    """Fetch a model repo's files (from the local cache when HF_HUB_OFFLINE=1)."""
    bound_hub_calls()
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
    bound_hub_calls()
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
    if run_dir.is_dir():
        lock_run_directory(run_dir)  # no training may change the files while they go up
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
