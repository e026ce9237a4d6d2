from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.helpers import start_app, stop, write_tiny_mnist

if not torch.cuda.is_available():
    # Without a GPU, the Triton kernels of --engine triton are tested in Triton's interpreter. It is
    # chosen when triton is first imported, which torch's fused Adam already does: so before any test.
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A 400-image MNIST look-alike in torchvision's layout, written by the test itself."""
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny-mnist"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real MNIST, only where MNIST_DIR points at it (CI sets it when ../shared/data exists)."""
    path = os.environ.get("MNIST_DIR")
    if not path or not (Path(path) / "MNIST" / "raw").is_dir():
        reason = "MNIST_DIR is not set to a folder holding MNIST/raw/"
        if os.environ.get("REQUIRE_MNIST") == "1":  # CI, where the real MNIST is there to be used
            pytest.fail(f"{reason}, but REQUIRE_MNIST=1")
        pytest.skip(reason)
    return Path(path)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """`python app.py` on the bundled weights, launched on a free local port for the session."""

    process, url = start_app(log_path=tmp_path_factory.mktemp("app") / "app.log")
    yield url
    stop(process)


@pytest.fixture(scope="session")
def app_context():
    """The app's context (served model, samplers, readers, output files), built once in this process
    from the default settings, for tests that call the app's functions without serving it."""
    # Imported here: gradio and the app's models load only in sessions that ask for them.
    from ui.context import build_context
    from ui.settings import Settings

    return build_context(Settings.from_environ({}))
