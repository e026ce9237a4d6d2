"""Test helpers: tiny IDX files, running the real scripts, free ports, waiting for servers."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
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


def run_script(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a project script as a user would: `python train.py ...` from the repo root."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


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


def start_app(
    env: dict | None = None, log_path: Path | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """Launch `python app.py [args]` on a free port; return the process and its URL."""
    port = free_port()
    # The app indexes the MNIST training images where MNIST_DIR is set (CI sets it for the real-data
    # tests): only the apps that ask for it pay for that, not every app the tests start.
    inherited = {name: value for name, value in os.environ.items() if name not in ("MNIST_DIR", "SPACE_ID")}
    full_env = {
        **inherited,
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
