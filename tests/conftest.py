from __future__ import annotations

import os
from pathlib import Path

# One thread per process, set before torch is imported here (and inherited by every train.py and
# app.py the tests start): four test workers share two cores, and more threads per process only
# spin waiting for each other: they cost ~5% more CPU in all (docs/testing.md). A user's own setting wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The app's live-training child lowers itself to nice 19, so that a Space's visitors come first. Here
# the "visitors" are the other test workers, four busy processes on two cores: at nice 0 beside
# them the child got almost no CPU, and a CI run failed when its 5 s run passed its 65 s cap. At
# nice 19 every test process is the child's equal (it cannot go lower), as on an idle Space.
os.nice(19 - os.nice(0))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the apps the tests serve call no one

from tests.helpers import app_in_process, serve_test_hub, write_tiny_mnist  # noqa: E402

# The tests' own Hub (tests/hub_server.py) runs in a thread of each test process, and
# huggingface_hub is pointed at it before anything imports it, as it reads HF_ENDPOINT and HF_HOME
# once, on import. So train.py and the app push and pull in the test's own process too, and
# nothing reaches huggingface.co. Tests of other Hubs (failing, hanging) pass their own env.
TEST_HUB = serve_test_hub()
os.environ.update(
    HF_ENDPOINT=TEST_HUB.base_url,
    HF_HOME=str(TEST_HUB.storage.root.parent / "hf-home"),
    HF_HUB_DISABLE_TELEMETRY="True",  # as Gradio sets it when the tests serve the app
)

import pytest  # noqa: E402
import torch  # noqa: E402

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
def app_url():
    """The app on the bundled weights, served from this process on a free local port for the session
    (the tests of app.py as a process start their own: start_app)."""
    with app_in_process() as url:
        yield url


@pytest.fixture(scope="session")
def app_context():
    """The app's context (served model, samplers, readers, output files), built once in this process
    from the default settings, for tests that call the app's functions without serving it."""
    # Imported here: gradio and the app's models load only in sessions that ask for them.
    from ui.context import build_context
    from ui.settings import Settings

    return build_context(Settings.from_environ({}))
