"""Test helpers: tiny IDX files, running the real scripts, free ports, waiting for servers."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import chdir, contextmanager, redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format torchvision reads: magic (0, 0, type 0x08 = ubyte, ndim), sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_tiny_mnist(data_dir: Path, train_count: int = 400, test_count: int = 100, seed: int = 0) -> Path:
    """Digit-like blobs (a bright stroke at a label-dependent place) in torchvision's layout."""
    rng = np.random.default_rng(seed)
    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        labels = rng.integers(0, 10, size=count)
        images = np.zeros((count, 28, 28), dtype=np.uint8)
        for image, label in zip(images, labels, strict=True):
            column = 4 + 2 * label
            image[4:24, column : column + 3] = 255
            image[:] = np.clip(image + rng.integers(0, 40, size=(28, 28)), 0, 255)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return data_dir


def run_script(
    *args: str, env: dict | None = None, timeout: float = 300, new_process: bool = False
) -> subprocess.CompletedProcess:
    """Run a project script as a user would: `python SCRIPT ...` from the repo root. `train.py` and
    `tools/deploy_space.py` run in this process (run_in_process) unless the test changes what is
    read on import (by huggingface_hub or torch: read_at_call says which), runs it from a thread
    (the captured output and the signal handlers are the whole process's), or asks for a new process."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    changes = read_at_call(env, at_call=PUSH_READS_AT_CALL)
    if args and args[0] in IN_PROCESS_SCRIPTS and changes is not None and on_main_thread and not new_process:
        with environment(changes):
            return run_in_process(*args)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


# What huggingface_hub reads from the environment at each call rather than once on import, so that
# a test may set it for a run in this process: the token.
READ_AT_CALL = frozenset({"HF_TOKEN"})
# What a push (gan_core.hub.client's hub_endpoint and hub_offline) reads at each call as well, so
# that `train.py --push` against another Hub, or offline, runs in this process too.
PUSH_READS_AT_CALL = READ_AT_CALL | {"HF_ENDPOINT", "HF_HUB_OFFLINE"}
# What the app reads only through its Settings (ui/settings.py), which app_in_process is given.
APP_SETTINGS = frozenset(
    {"MODEL_DIR", "MODEL_REPO", "MODEL_REVISION", "MNIST_DIR", "MNIST_DOWNLOAD", "QUEUE_MAX_SIZE",
     "MAX_CALLS_PER_VISITOR", "LIVE_RUNS_WAITING", "OUTPUT_FILES_MB"}
)  # fmt: skip


def read_at_call(
    env: dict | None, also: frozenset = frozenset(), at_call: frozenset = READ_AT_CALL
) -> dict | None:
    """The variables of `env` to set for a run in this process (those in `at_call`), or None where
    `env` changes something read on import, which only a new process reads. `also`: what the run
    is given otherwise (the app's settings)."""
    env = env or {}
    if any(name not in at_call | also and os.environ.get(name) != value for name, value in env.items()):
        return None
    return {name: value for name, value in env.items() if name in at_call}


@contextmanager
def environment(changes: dict) -> Iterator[None]:
    """os.environ with `changes` for the duration, then as it was."""
    before = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# The scripts a test may run in its own process, by the module that holds their main(argv).
IN_PROCESS_SCRIPTS = {"train.py": "train", "tools/deploy_space.py": "tools.deploy_space"}


def run_in_process(script: str, *argv: str) -> subprocess.CompletedProcess:
    """`python SCRIPT ARGS` run in this process: its main(argv) with its output captured and its
    exit status returned as the process's would be (SystemExit's code; 1 and the traceback on stderr
    for an uncaught exception). The same parser and code as the script, without a new interpreter's
    3 s of imports. Signals, locks held by another process and the environment read at import need a
    real process: those tests use run_script or start_training."""
    # Here, not at the top: importing train.py mends the HF_HUB_* settings in os.environ, and
    # importing torch takes a second that the tests without training need not pay.
    import importlib

    import torch

    module = importlib.import_module(IN_PROCESS_SCRIPTS[script])
    stdout, stderr = StringIO(), StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)  # train.py's main() installs its own, as the script does
    # fork_rng: fit() seeds the global generator, which a process would take with it when it ends.
    with chdir(ROOT), redirect_stdout(stdout), redirect_stderr(stderr), torch.random.fork_rng(devices=[]):
        try:
            code = module.main(list(argv))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            signal.signal(signal.SIGTERM, sigterm)
    return subprocess.CompletedProcess([script, *argv], code, stdout.getvalue(), stderr.getvalue())


def train_args(data_dir, out, *extra) -> list[str]:
    """train.py and its arguments for a CPU run on `data_dir` into `out`, as the tests run it."""
    return ["train.py", "--data-dir", str(data_dir), "--out", str(out), "--device", "cpu", *map(str, extra)]


def start_training(args: list[str]) -> subprocess.Popen:
    """train.py in the background, its output piped, with SIGINT's default action restored: a shell's
    background job (CI started with `&`) ignores SIGINT, and the child would inherit that."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def inherited_environment() -> dict:
    """What a served app takes from this process's environment: all of it but MNIST_DIR and
    SPACE_ID, which only the apps that ask for them get (CI sets MNIST_DIR for the real-data tests)."""
    return {name: value for name, value in os.environ.items() if name not in ("MNIST_DIR", "SPACE_ID")}


def start_app(
    env: dict | None = None, log_path: Path | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """Launch `python app.py [args]` on a free port; return the process and its URL."""
    port = free_port()
    # The app indexes the MNIST training images where MNIST_DIR is set (CI sets it for the real-data
    # tests): only the apps that ask for it pay for that, not every app the tests start.
    full_env = {
        **inherited_environment(),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "app.py", *args], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, process)
    except Exception:
        process.kill()
        raise
    return process, f"http://127.0.0.1:{port}/"


@contextmanager
def app_in_process(env: dict | None = None) -> Iterator[str]:
    """The app served from this process on a free port, as app.py's main() serves it (settings,
    context, page, limits, launch), for tests that talk to it over HTTP but do not test the process
    itself (its signals, its log, what it reads at import): no new interpreter, so no 5 s of imports.
    The environment is start_app's: this process's, less MNIST_DIR and SPACE_ID, plus `env`."""
    # Here, not at the top: gradio is imported only by the tests that serve the app.
    from ui.app import build_demo, serve
    from ui.context import build_context
    from ui.settings import Settings

    ctx = build_context(Settings.from_environ({**inherited_environment(), **(env or {})}))
    demo = build_demo(ctx)
    port = free_port()
    serve(demo, ctx, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        ctx.outputs.remove()


@contextmanager
def serving(
    env: dict | None = None, log_path: Path | None = None, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """The app with `env` (and `--run DIR` in args), at the URL yielded: served from this process
    where `env` holds only its settings and what huggingface_hub reads at each call, else by
    `python app.py`. Its log goes to log_path: the process's output, or here the log records and
    whatever is printed to stderr meanwhile (a traceback Gradio prints from one of its threads)."""
    if args:
        (flag, folder) = args
        assert flag == "--run", args
        env = {**(env or {}), "MODEL_DIR": folder}
    changes = read_at_call(env, also=APP_SETTINGS)
    if changes is None:
        process, url = start_app(env, log_path=log_path)
        try:
            yield url
        finally:
            stop(process)
        return
    # Written as it comes (line by line), so that a test may read the log while the app serves;
    # uvicorn's own handler takes the stderr of the moment it is configured, which is this one.
    records = open(log_path, "w", buffering=1) if log_path is not None else StringIO()  # noqa: SIM115
    handler = logging.StreamHandler(records)
    logging.getLogger().addHandler(handler)
    try:
        with environment(changes), redirect_stderr(records), app_in_process(env) as url:
            yield url
    finally:
        logging.getLogger().removeHandler(handler)
        records.close()


def serve_test_hub():
    """tests/hub_server.py in a daemon thread of this process, on a free port, its repos in a
    temporary folder that goes when the process ends. The user "tester" has TOKEN."""
    from tests.hub_server import HubServer

    folder = Path(tempfile.mkdtemp(prefix="test-hub-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    server = HubServer(0, folder / "storage", {TOKEN: "tester"})
    threading.Thread(target=server.serve_forever, name="test Hub", daemon=True).start()
    return server


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def launch_chromium(playwright):
    """Debian's Chromium, headless, under Playwright: one place for the system browser's path and
    flags, shared by the browser tests and tools/mnist_screenshots.py. Never `playwright install`
    (it downloads a browser of its own); .ci/run installs Debian's chromium instead."""
    executable = Path("/usr/bin/chromium")
    if not executable.exists():
        raise FileNotFoundError(f"{executable} is missing: apt-get install -y chromium (.ci/run does)")
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    return playwright.chromium.launch(executable_path=str(executable), headless=True, args=flags)


def open_app_page(browser, url: str, width: int = 1200, height: int = 1000):
    """A new page of `browser` on the app at `url`, once its header is shown."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    from playwright.sync_api import expect  # here: the GPU machine runs tests/test_gpu.py without it

    expect(page.get_by_text("MNIST GAN").first).to_be_visible(timeout=30_000)
    return page


TOKEN = "hf_test_secret_5d41402abc4b2a76"  # the test Hub's token for the user "tester"


def start_hub(storage, *extra):
    """tests/hub_server.py on a free port, with its repos in `storage`; returns (process, url)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "tests/hub_server.py",
            "--port",
            str(port),
            "--storage",
            str(storage),
            "--user",
            f"tester:{TOKEN}",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    return process, f"http://127.0.0.1:{port}"
