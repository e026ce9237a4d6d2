"""The nearest training images and live training, over HTTP and in Chromium, with MNIST_DIR set:
the tiny IDX data set the tests write (and the real MNIST where it is present)."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from gan_core.hub.pull import load_generator
from gan_core.images import CAPTION_HEIGHT, to_uint8_digits
from gan_core.latent import seeded_noise, slerp
from gan_core.training.quality import load_classifier
from tests.helpers import ROOT, app_in_process, launch_chromium, open_app_page

GENERATOR = load_generator(ROOT / "weights")[0]
CLASSIFIER = load_classifier()


def wait_until_indexed(client: Client, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.predict(seed=0, index=0, k=1, api_name="/nearest")
            return
        except Exception as error:
            if "still being built" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="module")
def mnist_app(tiny_data):
    """The app with the tiny MNIST, served from this process: its live runs are our children."""
    with app_in_process({"MNIST_DIR": str(tiny_data), "LIVE_RUNS_WAITING": "2"}) as url:
        client = Client(url, verbose=False)
        wait_until_indexed(client)
        yield os.getpid(), url, client


def training_set(folder: Path, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read by torchvision, as a check on the app's own IDX reader."""
    # Deferred: torchvision takes 1.4 s to import, and every test worker collects this file.
    from torchvision.datasets import MNIST

    dataset = MNIST(str(folder), train=train, download=False)
    return dataset.data.numpy().reshape(-1, 784), dataset.targets.numpy()


def generated_digit(seed: int, index: int) -> np.ndarray:
    with torch.inference_mode():
        return to_uint8_digits(GENERATOR(seeded_noise(seed, index + 1, 64)))[index].reshape(784)


def unit(features: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(features, dim=1).numpy()


def classifier_features(digits: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return unit(CLASSIFIER.features(torch.from_numpy(digits).float().div(255).mul(2).sub(1)))


def check_against_brute_force(table, digit, images, labels, k: int, every_feature: bool = True):
    """Every row of the answer against distances computed here, over the whole training set (the
    features of only the rows shown, when every_feature is off: 60,000 take 20 s here)."""
    rows = table["data"]
    by_pixels = [row for row in rows if row[0] == "pixels (L2)"]
    by_features = [row for row in rows if row[0] == "features (cosine)"]
    assert len(by_pixels) == len(by_features) == k
    distances = np.sqrt(((images / 255 - digit / 255) ** 2).sum(axis=1))
    shown = sorted({row[2] for row in by_features})
    similarities = np.full(len(images), -np.inf)
    candidates = range(len(images)) if every_feature else shown
    similarities[list(candidates)] = (
        classifier_features(images[list(candidates)]) @ classifier_features(digit[None])[0]
    )
    # The k smallest distances and largest similarities (ties may pick other rows of equal value).
    assert np.allclose([row[4] for row in by_pixels], np.sort(distances)[:k], atol=0.02)
    if every_feature:
        assert np.allclose([row[4] for row in by_features], np.sort(similarities)[::-1][:k], atol=0.005)
    for _, _, image, label, value in by_pixels:  # each row's own figures are that image's
        assert label == labels[image] and abs(distances[image] - value) < 0.02
    for _, _, image, label, value in by_features:
        assert label == labels[image] and abs(similarities[image] - value) < 0.005
    assert [row[1] for row in rows] == list(range(1, k + 1)) * 2


def test_nearest_images_are_the_nearest_by_both_measures(mnist_app, tiny_data):
    _, _, client = mnist_app
    images, labels = training_set(tiny_data)
    path, table, sentence = client.predict(seed=42, index=3, k=5, api_name="/nearest")
    digit = generated_digit(42, 3)
    check_against_brute_force(table, digit, images, labels, 5)
    # The picture: the digit, then its neighbours, in two captioned rows of k + 1.
    shown = np.asarray(Image.open(path).convert("L"))
    assert shown.shape == (2 * (30 * 3 + CAPTION_HEIGHT) + 6, 6 * 30 * 3 + 6)
    first_cell = shown[6 : 6 + 84 : 3, 6 : 6 + 84 : 3]
    assert np.abs(first_cell.astype(int) - digit.reshape(28, 28)).max() <= 1
    nearest_row = table["data"][0][2]
    second_cell = shown[6 : 6 + 84 : 3, 96 : 96 + 84 : 3]
    assert np.array_equal(second_cell, images[nearest_row].reshape(28, 28))
    assert f"#{nearest_row}" in sentence and "(the median over 100 test digits)" in sentence


def test_the_nearest_of_an_interpolation_frame(mnist_app, tiny_data):
    _, _, client = mnist_app
    images, labels = training_set(tiny_data)
    a, b = seeded_noise(1, 1, 64), seeded_noise(2, 1, 64)
    with torch.inference_mode():
        frame = to_uint8_digits(GENERATOR(slerp(a, b, 0.3)))[0].reshape(784)
    _, table, _ = client.predict(seed_a=1, seed_b=2, t=0.3, method="slerp", k=3, api_name="/nearest_frame")
    check_against_brute_force(table, frame, images, labels, 3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(seed=1, index=64, k=3), "index must be between 0 and 63, got 64"),
        (dict(seed=1, index=0, k=0), "k must be between 1 and 16, got 0"),
        (dict(seed=1, index=0, k=17), "k must be between 1 and 16, got 17"),
        (dict(seed=-1, index=0, k=3), "seed must be between 0 and 2147483647"),
        (dict(seed=1, index=0, k=3, model="gan"), "model must be one of improved, tutorial"),
    ],
)
def test_bad_nearest_calls_are_refused_clearly(mnist_app, arguments, message):
    with pytest.raises(Exception, match=message):
        mnist_app[2].predict(**arguments, api_name="/nearest")


def test_without_mnist_both_tabs_say_how_to_enable_them(client_without_mnist):
    for call in (
        lambda: client_without_mnist.predict(seed=1, index=0, k=3, api_name="/nearest"),
        lambda: client_without_mnist.predict(recipe="tutorial", seconds=5, seed=0, api_name="/train_live"),
        lambda: client_without_mnist.predict(seconds=5, seed=0, api_name="/race"),
    ):
        with pytest.raises(Exception, match="This needs the MNIST training images"):
            call()
    assert client_without_mnist.predict(seed=1, count=2, api_name="/generate")  # the rest works


@pytest.fixture(scope="module")
def client_without_mnist(app_url):
    return Client(app_url, verbose=False)


def children(pid: int) -> list[str]:
    """The command lines of a process's children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def live_children(server_pid: int) -> list[str]:
    return [command for command in children(server_pid) if "gan_core.demo.live" in command]


def test_live_training_streams_its_progress_and_leaves_nothing_behind(mnist_app):
    server_pid, _, client = mnist_app
    job = client.submit(recipe="tutorial", seconds=5, seed=3, api_name="/train_live")
    updates = list(job)
    # It ends at its budget by its own clock (the child's start-up, at nice 19 beside a loaded
    # machine, takes what it takes, so the wall clock around the call proves nothing).
    trained_seconds = int(updates[-1][2].split(" after ")[1].split(" of ")[0])
    assert 5 <= trained_seconds < 15
    # Streamed: an update while it trains, then the last. How many come in 5 s depends on how much
    # CPU the child (nice 19) gets beside whatever else runs, so only "more than the last" is sure.
    assert len(updates) >= 2
    steps = [int(status.split("step ")[1].split(" ")[0].replace(",", "")) for _, _, status, _ in updates]
    # The same numbers come as data, for code: the step and the scores the line shows.
    figures = [update[3] for update in updates]
    assert [f["step"] for f in figures] == steps and figures[-1]["state"] == "done"
    assert all(f["state"] == "training" for f in figures[:-1]) and figures[-1]["seed"] == 3
    shown = [float(status.split("D(x) = ")[1].split(",")[0]) for _, _, status, _ in updates]
    assert all(abs(f["d_x"] - d_x) <= 0.001 for f, d_x in zip(figures, shown, strict=True))
    assert steps == sorted(steps) and steps[0] > 0
    assert "**done** (tutorial)" in updates[-1][2] and "of 5 s" in updates[-1][2]
    first, last = (np.asarray(Image.open(update[0]).convert("L")) for update in (updates[0], updates[-1]))
    assert first.shape == last.shape == ((8 * 30 + 2) * 2,) * 2
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 1  # G has learned something
    assert all(0 < float(status.split("D(x) = ")[1].split(",")[0]) < 1 for _, _, status, _ in updates)
    assert not live_children(server_pid)  # the child process ended with the run


def test_one_live_run_at_a_time_and_a_stop_ends_it(mnist_app, tiny_data):
    server_pid, url, _ = mnist_app
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    running = first.submit(recipe="improved", seconds=60, seed=1, api_name="/train_live")
    deadline = time.monotonic() + 60
    while not live_children(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(live_children(server_pid)) == 1
    # One visitor, one run: a second from the same visitor is refused at once, saying why (the
    # refusal is the call's answer, so gradio_client shows our message, not "Queue is full!").
    with pytest.raises(Exception, match="You already have 1 of these waiting or running"):
        first.submit(recipe="tutorial", seconds=5, seed=9, api_name="/train_live").result(timeout=30)
    # Claiming to be someone else does not help: off a Space, X-Forwarded-For is the caller's own
    # word, and the call counts against the session it names.
    with pytest.raises(Exception, match="You already have 1 of these waiting or running"):
        first.submit(recipe="tutorial", seconds=5, seed=9, api_name="/train_live",
                     headers={"x-forwarded-for": "1.2.3.4"}).result(timeout=30)  # fmt: skip
    waiting = second.submit(recipe="tutorial", seconds=5, seed=2, api_name="/train_live")
    time.sleep(3)
    assert waiting.status().code.name in ("IN_QUEUE", "STARTING", "JOINING_QUEUE")  # waits its turn
    assert len(live_children(server_pid)) == 1
    # New visitors (new sessions, or forged addresses) cannot pile up more: LIVE_RUNS_WAITING=2 in all.
    third = httpx.post(f"{url}gradio_api/call/train_live", headers={"x-forwarded-for": "5.6.7.8"},
                       json={"data": ["tutorial", 5, 3]})  # fmt: skip
    answer = httpx.get(f"{url}gradio_api/call/train_live/{third.json()['event_id']}", timeout=30).text
    assert "event: error" in answer and "2 of these are already waiting or running" in answer
    assert Client(url, verbose=False).predict(seed=1, count=2, api_name="/generate")  # the rest is served
    running.cancel()  # what the Stop button does
    with ThreadPoolExecutor(1) as pool:
        outputs = pool.submit(waiting.result, timeout=90).result()
    assert "**done** (tutorial)" in outputs[2]
    assert not live_children(server_pid)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(recipe="tutorial", seconds=121, seed=0), "seconds must be between 5 and 120, got 121"),
        (dict(recipe="tutorial", seconds=4, seed=0), "seconds must be between 5 and 120, got 4"),
        (dict(recipe="dcgan", seconds=5, seed=0), "recipe must be one of tutorial, improved, got .dcgan."),
        (dict(recipe="tutorial", seconds=5, seed=0, lr=0.5), "lr must be a number from 1e-05 to 0.001"),
        (dict(recipe="tutorial", seconds=5, seed=0, batch_size=8), "batch_size must be between 16 and 512"),
    ],
)
def test_bad_live_settings_are_refused_before_anything_starts(mnist_app, arguments, message):
    server_pid, _, client = mnist_app
    with pytest.raises(Exception, match=message):
        client.predict(**arguments, api_name="/train_live")
    assert not live_children(server_pid)


def rows_of(rows) -> list[list[str]]:
    """A drawn table's rows, as the texts of their cells (Gradio's spacer rows, empty, left out)."""
    cells = [row.get_by_role("gridcell").all_inner_texts() for row in rows.all()]
    return [[cell.strip() for cell in row] for row in cells if any(cell.strip() for cell in row)]


def test_in_the_browser_live_training_and_nearest_images(mnist_app, tmp_path):
    from tests.test_browser import open_tab

    _, url, _ = mnist_app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url)

        open_tab(page, "Nearest images")
        expect(page.locator("#nearest-status")).to_contain_text("ready")
        for table in ("#nearest-table", "#nearest-table-phone"):  # answers, not forms: no row to add
            expect(page.locator(table).get_by_role("button", name="Add row")).to_have_count(0)
        page.locator("#nearest-button").click()
        expect(page.locator("#nearest-output img").first).to_be_visible(timeout=20_000)
        expect(page.locator("#nearest-verdict")).to_contain_text("The nearest training image by pixels is #")
        page.screenshot(
            path=str(tmp_path / "nearest.png"), full_page=True
        )  # docs/: tools/mnist_screenshots.py
        # A link to a digit's nearest images searches as it opens, with no press of the button.
        page.goto(url + "?view=nearest&seed=7&index=5&model=tutorial")
        expect(page.locator("#nearest-verdict")).to_contain_text(
            "The nearest training image by pixels is #", timeout=30_000
        )
        expect(page.locator("#nearest-output img").first).to_have_attribute(
            "src", re.compile(r"nearest_seed7_5_8")
        )
        # On a phone's width the table is its four short columns, the same rows, all inside its box.
        expect(page.locator("#nearest-table")).to_contain_text("pixels (L2)")
        wide = rows_of(page.locator("#nearest-table").get_by_role("row"))
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#nearest-table")).to_be_hidden()
        expect(page.locator("#nearest-table-phone")).to_contain_text("features")
        narrow = rows_of(page.locator("#nearest-table-phone").get_by_role("row"))
        assert narrow and [[row[0].split()[0], *row[2:]] for row in wide][: len(narrow)] == narrow, (
            wide,
            narrow,
        )
        assert page.locator("#nearest-table-phone").evaluate(
            "box => [...box.querySelectorAll('*')].every(part => part.scrollWidth <= part.clientWidth + 1)"
        )
        page.set_viewport_size({"width": 1200, "height": 1000})

        open_tab(page, "Live training")
        page.get_by_label("seconds").filter(visible=True).last.fill("5")
        page.get_by_label("seconds").filter(visible=True).last.press("Enter")
        page.locator("#live-start").click()
        # The child runs at nice 19 and yields to everything else on the machine (the other test
        # workers included), so its start is given time; what is checked is that it shows up.
        expect(page.locator("#live-status")).to_contain_text("training", timeout=90_000)
        expect(page.locator("#live-grid img").first).to_be_visible()
        expect(page.locator("#live-plot img").first).to_be_visible()
        expect(page.locator("#live-status")).to_contain_text("done", timeout=60_000)
        page.screenshot(path=str(tmp_path / "live-training.png"), full_page=True)
        browser.close()
