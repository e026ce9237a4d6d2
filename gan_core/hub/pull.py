"""Load a generator from a Hub repo (or, through the same call, a run directory). A run directory
*is* a model repo: a snapshot is read by runs/reading.py like any run folder, after the cached
files are checked; the sample grids are fetched one at a time, when shown."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import (
    HfApi,
    constants,
    hf_hub_download,
    snapshot_download,
)
from PIL import Image

from gan_core.hub.client import bound_hub_calls, check_repo_id
from gan_core.images import SAMPLE_GRID_SIZE
from gan_core.io import decode_image, read_bounded
from gan_core.models import Generator
from gan_core.runs.history import History
from gan_core.runs.layout import (
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    REAL_IMAGES_FILE,
    SCORES_FILE,
    grid_epochs,
    sample_epochs,
    sample_path,
)
from gan_core.runs.reading import (
    load_run,
)

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
