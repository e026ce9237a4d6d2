"""Load a generator from a run directory or a Hub repo. Both are untrusted input: every file is
checked before anything is allocated or served.

A run directory *is* a model repo, so loading reads the same files from either place.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import (
    HfApi,
    constants,
    get_session,
    hf_hub_download,
    snapshot_download,
)
from PIL import Image
from safetensors import safe_open

from .config import MAX_WIDTH, ModelConfig
from .files import check_regular, decode_image, read_bounded
from .history import History, read_history
from .images import SAMPLE_GRID_SIZE
from .latent import seeded_noise
from .layout import (
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    REAL_IMAGES_FILE,
    SCORES_FILE,
    grid_epochs,
    sample_epochs,
    sample_path,
)
from .messages import first_line, shown
from .models import Generator
from .run_files import read_weights

# The Hub's rule for a namespace and a name: letters, digits, '-', '_', '.', at most 96 characters,
# starting and ending with a letter or digit, and no '--' or '..' anywhere.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID = re.compile(rf"{_PART}/{_PART}")


def check_repo_id(repo_id: str) -> str:
    if (
        not isinstance(repo_id, str)
        or not REPO_ID.fullmatch(repo_id)
        or "--" in repo_id
        or ".." in repo_id
        or repo_id.lower().endswith(".git")
    ):
        raise ValueError(
            f"{shown(repo_id)} is not a Hub repo id: expected USER/NAME (letters, digits, '-', '_', '.'; "
            f"each part starting and ending with a letter or digit, no '--' or '..')"
        )
    return repo_id


MAX_CONFIG_BYTES = 64 * 1024  # config.json holds three numbers


def read_model_config(config_path: Path) -> ModelConfig:
    """config.json, checked against the bounds training allows before anything is allocated."""
    data = read_bounded(config_path, MAX_CONFIG_BYTES)  # missing, a FIFO, a device: a ValueError
    try:
        values = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
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
    check_regular(weights_path)  # safetensors would wait on a FIFO, or map a device
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


# Per connect and per read: a Hub that accepts and never answers fails after this many seconds.
# huggingface_hub's own setting for it, HF_HUB_DOWNLOAD_TIMEOUT (default 10), is honoured.
HUB_TIMEOUT_S = float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


def bound_hub_calls() -> None:
    """Give huggingface_hub's shared HTTP client a timeout, so that a silent Hub delays the app's
    start or a push by seconds, not for ever. Its calls pass timeout=None ("wait for ever") to each
    request, which would override a client default, so those requests are built with ours too."""
    session = get_session()
    if getattr(session, "bounded_by_mnist_gan", False):
        return
    session.timeout = HUB_TIMEOUT_S  # for calls that leave the timeout to the client
    build_request = session.build_request

    def bounded(*args, timeout=None, **kwargs):
        return build_request(*args, timeout=HUB_TIMEOUT_S if timeout is None else timeout, **kwargs)

    session.build_request = bounded
    session.bounded_by_mnist_gan = True


# What serving a model needs at once; the sample grids (hundreds in a long run) come one at a time.
SERVING_FILES = [MODEL_FILE, CONFIG_FILE, HISTORY_FILE, SCORES_FILE, REAL_IMAGES_FILE]


def download_run(repo_id: str, revision: str | None = None, force_download: bool = False) -> Path:
    """Fetch what a model repo needs for serving (from the local cache when HF_HUB_OFFLINE=1); the
    folder is named by the commit it resolved to."""
    bound_hub_calls()
    return Path(
        snapshot_download(
            check_repo_id(repo_id),
            revision=revision,
            repo_type="model",
            allow_patterns=SERVING_FILES,
            force_download=force_download,
        )
    )


def check_cached_weights(run_dir: Path) -> None:
    """The cached weights are the bytes the Hub sent: huggingface_hub checks only their size, and
    names the cached copy by the Hub's hash of it (SHA-256 for a Git LFS file, as weights are,
    else the Git blob id), so the check needs no request and works offline too."""
    stored = (run_dir / MODEL_FILE).resolve()
    expected = stored.name.lower()
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", expected):
        return  # not a cache blob (a copy where links are unavailable): nothing to compare with
    content = stored.read_bytes()
    if len(expected) == 64:
        actual = hashlib.sha256(content).hexdigest()
    else:
        actual = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    if actual != expected:
        raise ValueError(f"the cached {MODEL_FILE} does not match the Hub's hash of it: it was damaged")


def load_hub_run(repo_id: str, revision: str | None = None) -> tuple[Path, Generator, History]:
    """A Hub repo's run, downloaded or from the cache, checked and loaded. A cached file that is
    empty, cut short or changed (a crash while writing, a full disk, a hand edit) is fetched again
    once; if the fresh copy is still bad, that error stands."""
    run_dir = download_run(repo_id, revision)
    try:
        check_cached_weights(run_dir)
        return run_dir, *load_run(run_dir)
    except (ValueError, OSError):
        if constants.HF_HUB_OFFLINE:
            raise
    run_dir = download_run(repo_id, revision, force_download=True)
    check_cached_weights(run_dir)
    return run_dir, *load_run(run_dir)


MAX_GRID_BYTES = 1024 * 1024  # a 242x242 greyscale PNG is about 40 KB at most


class GridUnreadable(ValueError):
    """A saved grid that is there but cannot be shown (damaged, foreign, too large): it counts as
    that epoch's missing grid. A grid that could not be downloaded raises the download's error."""


@dataclass
class SampleGrids:
    """A run's fixed-noise grids: in its folder, or fetched from its Hub repo when first shown."""

    folder: Path
    epochs: list[int]
    repo_id: str | None = None
    commit: str | None = None

    def path(self, epoch: int) -> Path:
        local = sample_path(self.folder, epoch)
        if local.is_file() or self.repo_id is None:
            return local
        name = local.relative_to(self.folder).as_posix()
        return Path(hf_hub_download(self.repo_id, name, revision=self.commit, repo_type="model"))

    def image(self, epoch: int) -> Image.Image:
        """The grid of `epoch`, decoded only when it is the size a grid is (8x8 digits of 28 px with
        their padding): a damaged or foreign file is a ValueError, as a grid that is not there.
        A Hub run's grid that cannot be downloaded raises the download's own error."""
        path = self.path(epoch)
        try:
            return decode_image(read_bounded(path, MAX_GRID_BYTES), f"{path.name}", SAMPLE_GRID_SIZE)
        except ValueError as error:
            raise GridUnreadable(f"The grid of epoch {epoch} cannot be shown: {error}") from None


def sample_grids(folder: Path, repo_id: str | None = None) -> SampleGrids:
    """The grids of a local run, or of the repo a snapshot folder came from (listed in one request,
    with their sizes: a file too large to be a grid is never downloaded; offline, the ones in the
    cache)."""
    if repo_id is None:
        return SampleGrids(folder, sample_epochs(folder))
    try:
        info = HfApi().model_info(repo_id, revision=folder.name, files_metadata=True)
    except Exception:  # offline or unreachable: what the cache holds
        return SampleGrids(folder, sample_epochs(folder))
    names = [file.rfilename for file in info.siblings if (file.size or 0) <= MAX_GRID_BYTES]
    return SampleGrids(folder, grid_epochs(names), repo_id, folder.name)


def load_generator(source: str | Path, revision: str | None = None) -> tuple[Generator, History]:
    """A local run directory, or a Hub repo id (at `revision`) -> (generator, history)."""
    if Path(source).is_dir():
        return load_run(Path(source))
    _, generator, history = load_hub_run(str(source), revision)
    return generator, history


def load_run(run_dir: Path) -> tuple[Generator, History]:
    """The generator and history of a run directory already on disk."""
    return read_generator(run_dir), read_history(Path(run_dir) / HISTORY_FILE)
