"""The nearest training images and live training, over HTTP and in Chromium, with MNIST_DIR set:
the tiny IDX data set the tests write (and the real MNIST where it is present)."""

from __future__ import annotations

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
from torchvision.datasets import MNIST

from gan_core.hub.pull import load_generator
from gan_core.images import CAPTION_HEIGHT, to_uint8_digits
from gan_core.latent import seeded_noise, slerp
from gan_core.training.quality import load_classifier
from tests.helpers import ROOT, launch_chromium, open_app_page, start_app, stop

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
def mnist_app(tiny_data, tmp_path_factory):
    log = tmp_path_factory.mktemp("mnist-app") / "app.log"
    process, url = start_app({"MNIST_DIR": str(tiny_data), "LIVE_RUNS_WAITING": "2"}, log_path=log)
    client = Client(url, verbose=False)
    wait_until_indexed(client)
    yield process, url, client
    stop(process)


def training_set(folder: Path, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read by torchvision, as a check on the app's own IDX reader."""
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


def live_children(process) -> list[str]:
    return [command for command in children(process.pid) if "gan_core.demo.live" in command]


def test_live_training_streams_its_progress_and_leaves_nothing_behind(mnist_app):
    process, _, client = mnist_app
    began = time.monotonic()
    job = client.submit(recipe="tutorial", seconds=5, seed=3, api_name="/train_live")
    updates = list(job)
    assert time.monotonic() - began < 60
    assert len(updates) >= 3
    steps = [int(status.split("step ")[1].split(" ")[0].replace(",", "")) for _, _, status in updates]
    assert steps == sorted(steps) and steps[0] > 0
    assert "**done** (tutorial)" in updates[-1][2] and "of 5 s" in updates[-1][2]
    first, last = (np.asarray(Image.open(update[0]).convert("L")) for update in (updates[0], updates[-1]))
    assert first.shape == last.shape == ((8 * 30 + 2) * 2,) * 2
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 1  # G has learned something
    assert all(0 < float(status.split("D(x) = ")[1].split(",")[0]) < 1 for _, _, status in updates)
    assert not live_children(process)  # the child process ended with the run


def test_one_live_run_at_a_time_and_a_stop_ends_it(mnist_app, tiny_data):
    process, url, _ = mnist_app
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    running = first.submit(recipe="improved", seconds=60, seed=1, api_name="/train_live")
    deadline = time.monotonic() + 60
    while not live_children(process) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(live_children(process)) == 1
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
    assert len(live_children(process)) == 1
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
    assert not live_children(process)


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
    process, _, client = mnist_app
    with pytest.raises(Exception, match=message):
        client.predict(**arguments, api_name="/train_live")
    assert not live_children(process)


def test_with_the_real_mnist_the_index_is_built_in_the_background(real_data, tmp_path):
    log = tmp_path / "app.log"
    process, url = start_app({"MNIST_DIR": str(real_data)}, log_path=log)
    try:
        client = Client(url, verbose=False)
        began = time.monotonic()
        assert client.predict(seed=1, count=4, api_name="/generate")  # served while indexing
        wait_until_indexed(client)
        indexed_after = time.monotonic() - began
        path, table, sentence = client.predict(seed=42, index=3, k=4, api_name="/nearest")
    finally:
        stop(process)
    images, labels = training_set(real_data)
    check_against_brute_force(table, generated_digit(42, 3), images, labels, 4, every_feature=False)
    assert indexed_after < 240 and "(the median over 500 test digits)" in sentence
    assert "not a copy" in sentence  # the bundled generator's digit is no nearer than a real one's


def test_in_the_browser_live_training_and_nearest_images(mnist_app, tmp_path):
    from tests.test_browser import open_tab

    _, url, _ = mnist_app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url)

        open_tab(page, "Nearest images")
        expect(page.locator("#nearest-status")).to_contain_text("ready")
        page.locator("#nearest-button").click()
        expect(page.locator("#nearest-output img").first).to_be_visible(timeout=20_000)
        expect(page.locator("#nearest-verdict")).to_contain_text("The nearest training image by pixels is #")
        page.screenshot(
            path=str(tmp_path / "nearest.png"), full_page=True
        )  # docs/: tools/mnist_screenshots.py

        open_tab(page, "Live training")
        page.get_by_label("seconds").last.fill("5")
        page.get_by_label("seconds").last.press("Enter")
        page.locator("#live-start").click()
        expect(page.locator("#live-status")).to_contain_text("training", timeout=30_000)
        expect(page.locator("#live-grid img").first).to_be_visible()
        expect(page.locator("#live-plot img").first).to_be_visible()
        expect(page.locator("#live-status")).to_contain_text("done", timeout=60_000)
        page.screenshot(path=str(tmp_path / "live-training.png"), full_page=True)
        browser.close()


def test_the_apps_idx_reader_reads_what_torchvision_reads_and_refuses_damage(tiny_data, tmp_path):
    import gzip
    import shutil

    from gan_core.data import DataError, read_mnist_idx

    for train in (True, False):
        images, labels = read_mnist_idx(tiny_data, train=train)
        expected_images, expected_labels = training_set(tiny_data, train=train)
        assert np.array_equal(images.numpy(), expected_images) and np.array_equal(
            labels.numpy(), expected_labels
        )
    # Gzipped files, as torchvision's download leaves them, read the same.
    raw = tmp_path / "gz" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for path in (tiny_data / "MNIST" / "raw").iterdir():
        (raw / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert torch.equal(read_mnist_idx(tmp_path / "gz")[0], read_mnist_idx(tiny_data)[0])
    # A cut-short file is refused with its name, not read as fewer images.
    cut = tmp_path / "cut" / "MNIST" / "raw"
    shutil.copytree(tiny_data / "MNIST" / "raw", cut)
    images_file = cut / "train-images-idx3-ubyte"
    images_file.write_bytes(images_file.read_bytes()[:-100])
    with pytest.raises(
        DataError, match="train-images-idx3-ubyte: not an IDX file of unsigned bytes, or cut short"
    ):
        read_mnist_idx(tmp_path / "cut")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        read_mnist_idx(tmp_path / "nowhere", train=False)


def test_an_unreadable_mnist_dir_is_reported_not_raised(tmp_path, caplog):
    from gan_core.demo.nearest import NearestImages
    from ui.settings import mnist_source

    assert mnist_source({}) is None and mnist_source({"MNIST_DOWNLOAD": "1"})[1] is True
    assert mnist_source({"SPACE_ID": "you/space"})[1] is True
    images = NearestImages(CLASSIFIER, mnist_source({"MNIST_DIR": str(tmp_path / "nowhere")}))
    with caplog.at_level("WARNING"):
        images.start().join(timeout=60)
    # The visitor is told what to do; the folder and the reason go to the log, for the app's owner.
    with pytest.raises(
        ValueError, match=r"could not be read \(the app's log says why\)\. This needs the MNIST"
    ):
        images.query(torch.zeros(784), 3)
    assert f"cannot index {tmp_path / 'nowhere'}: cannot read MNIST" in caplog.text
    with pytest.raises(ValueError, match="set MNIST_DIR to a folder holding MNIST/raw/"):
        images.data_folder()  # live training says the same


def test_a_run_nobody_watches_any_more_is_ended_and_small_data_sets_are_handled(tiny_data, tmp_path):
    from gan_core.demo.live import LiveSettings, LiveTrainer
    from gan_core.demo.nearest import NearestImages
    from tests.helpers import write_tiny_mnist
    from ui.settings import mnist_source

    trainer = LiveTrainer(lambda: tiny_data, stall_s=2)
    updates = trainer.run(LiveSettings.checked("tutorial", 60, 1))
    next(updates)  # the stream started, then its reader went away without closing it
    child = trainer._child
    assert child.poll() is None
    child.wait(timeout=20)  # killed within stall_s of the first update left untaken, not at 60 s
    updates.close()

    small = write_tiny_mnist(tmp_path / "ten", train_count=10, test_count=5)
    too_big = LiveTrainer(lambda: small).run(LiveSettings.checked("tutorial", 5, 0, batch_size=64))
    with pytest.raises(
        ValueError, match="live training stopped: batch_size 64 is more than the 10 training images"
    ):
        next(too_big)
    images = NearestImages(CLASSIFIER, mnist_source({"MNIST_DIR": str(small)}))
    images.start().join(timeout=60)
    by_pixels, by_features = images.query(torch.zeros(784), 16)  # k past the 10 images: all 10
    assert len(by_pixels.indices) == len(by_features.indices) == 10
