"""Every environment variable the app reads, read and checked once (Settings.from_environ).

    MODEL_DIR         a run directory to serve (`python app.py --run DIR` sets it)
    MODEL_REPO        else a model repo on the Hub, at MODEL_REVISION (default: main)
    MNIST_DIR         the MNIST training images, for the nearest images and live training; else
    MNIST_DOWNLOAD=1  a download (on a Space, where SPACE_ID is set, by itself)
    QUEUE_MAX_SIZE, MAX_CALLS_PER_VISITOR, LIVE_RUNS_WAITING, OUTPUT_FILES_MB   the Space's bounds
    GRADIO_SERVER_NAME   the address to serve on (127.0.0.1)
    XDG_CACHE_HOME    where the figure cache and a downloaded MNIST live (~/.cache)
    HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT   mended before huggingface_hub is imported

A Space must start whatever its settings hold, so a bad count is logged and replaced by the
default instead of stopping the app. This module imports neither gradio nor huggingface_hub: app.py
reads the settings before anything imports them.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gan_core.hub.timeouts import mended_hub_timeouts

log = logging.getLogger(__name__)


def whole_setting(name: str, default: int, high: int, environ=os.environ) -> int:
    """The whole number from 1 to `high` in environ[name] (surrounding whitespace ignored), else
    the default, with a warning that says what was wrong."""
    text = environ.get(name, str(default)).strip()
    if text.isdecimal() and 0 < int(text) <= high:
        return int(text)
    log.warning("%s=%r is not a whole number from 1 to %d; using %d", name, text[:40], high, default)
    return default


def cache_root(environ: Mapping[str, str]) -> Path:
    """XDG_CACHE_HOME/mnist-gan, or ~/.cache/mnist-gan; RuntimeError where there is no home folder."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-gan"


def cache_folder(environ: Mapping[str, str]) -> Path | None:
    """The figures' cache in cache_root; None without a home folder."""
    try:
        return cache_root(environ) / "plots"
    except RuntimeError:  # no home folder: nothing to cache in
        return None


def mnist_source(environ: Mapping[str, str]) -> tuple[Path, bool] | None:
    """(folder, download?) for the training images: MNIST_DIR if set, else a download on a Space
    (SPACE_ID is set there) or when MNIST_DOWNLOAD=1; None where neither applies."""
    if environ.get("MNIST_DIR"):
        return Path(environ["MNIST_DIR"]), False
    if environ.get("SPACE_ID") or environ.get("MNIST_DOWNLOAD") == "1":
        # Asked for only here: a machine with no home folder still runs the rest of the app.
        return cache_root(environ) / "data", True
    return None


@dataclass(frozen=True)
class Settings:
    model_dir: str = ""  # MODEL_DIR, stripped; "" when unset
    model_repo: str = ""  # MODEL_REPO, stripped
    model_revision: str | None = None  # MODEL_REVISION; None means main
    mnist: tuple[Path, bool] | None = None  # (folder, download?) of the training images, or None
    plot_cache: Path | None = None  # the fixed figures, kept between starts
    queue_max_size: int = 64  # past 10,000 a queue only hides an overload
    max_calls_per_visitor: int = 8
    live_runs_waiting: int = 3  # live runs waiting or running, all visitors together
    output_files_mb: int = 512  # all the answers handed out, together
    behind_proxy: bool = False  # on a Space (SPACE_ID): the caller's address is the proxy's header
    server_name: str = "127.0.0.1"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            model_dir=environ.get("MODEL_DIR", "").strip(),
            model_repo=environ.get("MODEL_REPO", "").strip(),
            model_revision=environ.get("MODEL_REVISION", "").strip() or None,
            mnist=mnist_source(environ),
            plot_cache=cache_folder(environ),
            queue_max_size=whole_setting("QUEUE_MAX_SIZE", 64, high=10_000, environ=environ),
            max_calls_per_visitor=whole_setting("MAX_CALLS_PER_VISITOR", 8, high=1_000, environ=environ),
            live_runs_waiting=whole_setting("LIVE_RUNS_WAITING", 3, high=100, environ=environ),
            output_files_mb=whole_setting("OUTPUT_FILES_MB", 512, high=1_000_000, environ=environ),
            behind_proxy=bool(environ.get("SPACE_ID")),
            server_name=environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        )


def read_settings(argv: list[str] | None = None, environ=os.environ) -> Settings:
    """The command line and the environment, once: `--run DIR` is passed on as MODEL_DIR, and the
    HF_HUB_*_TIMEOUT settings are mended in environ (call this before importing gradio)."""
    parser = argparse.ArgumentParser(description="The MNIST GAN demo (a Gradio app).")
    parser.add_argument("--run", metavar="DIR", help="serve the run in this folder (as MODEL_DIR=DIR does)")
    run = parser.parse_args(argv).run
    environ.update(mended_hub_timeouts(environ))
    return Settings.from_environ({**environ, "MODEL_DIR": run} if run else environ)
