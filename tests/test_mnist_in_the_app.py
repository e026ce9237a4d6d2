"""The app's own reading of MNIST, without the tiny app of test_nearest_and_live.py: its IDX reader
against torchvision's, the nearest-images index built on the real MNIST while the app serves, an
unreadable folder, a live trainer whose reader left, and data sets smaller than a batch."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from gradio_client import Client

from tests.helpers import app_in_process
from tests.test_nearest_and_live import (
    CLASSIFIER,
    check_against_brute_force,
    generated_digit,
    training_set,
    wait_until_indexed,
)


def test_with_the_real_mnist_the_index_is_built_in_the_background(real_data):
    with app_in_process({"MNIST_DIR": str(real_data)}) as url:
        client = Client(url, verbose=False)
        began = time.monotonic()
        assert client.predict(seed=1, count=4, api_name="/generate")  # served while indexing
        wait_until_indexed(client)
        indexed_after = time.monotonic() - began
        path, table, sentence = client.predict(seed=42, index=3, k=4, api_name="/nearest")
    images, labels = training_set(real_data)
    check_against_brute_force(table, generated_digit(42, 3), images, labels, 4, every_feature=False)
    assert indexed_after < 240 and "(the median over 500 test digits)" in sentence
    assert "not a copy" in sentence  # the bundled generator's digit is no nearer than a real one's


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

    # A run past its hard cap (its time and a start-up margin, here none) is ended, and says why.
    no_margin = LiveTrainer(lambda: tiny_data, start_timeout_s=0)
    with pytest.raises(ValueError, match=r"live training stopped: it was not done 5 s after it started \("):
        list(no_margin.run(LiveSettings.checked("tutorial", 5, 0)))  # its 5 s begin after torch's import
    assert no_margin._child is None

    # A race whose one run fails ends the other at once, and says why the first ended.
    from gan_core.demo.race import run_race

    settings = {"tutorial": LiveSettings.checked("tutorial", 60, 0, batch_size=512),
                "improved": LiveSettings.checked("improved", 60, 0)}  # fmt: skip
    began = time.monotonic()
    with pytest.raises(ValueError, match="batch_size 512 is more than the 400 training images"):
        list(run_race(lambda: tiny_data, settings))
    assert time.monotonic() - began < 60  # not at the end of the other's 60 s

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
