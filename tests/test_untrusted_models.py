"""Models from a folder or the Hub are untrusted input: checked before they are allocated or served."""

import json
import resource
import shutil
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from gan_core.hub.pull import load_generator
from gan_core.runs.history import read_history
from tests.helpers import ROOT


@pytest.fixture
def run_copy(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(ROOT / "weights", folder)
    return folder


def write_config(folder, **values):
    (folder / "config.json").write_text(
        json.dumps({"latent_size": 64, "hidden_size": 256, "image_size": 784, **values})
    )


@pytest.mark.parametrize(
    "values, message",
    [
        ({"hidden_size": 30000}, "hidden_size must be between 1 and 4096, got 30000"),
        ({"latent_size": 0}, "latent_size must be between 1 and 4096, got 0"),
        ({"latent_size": True}, "latent_size must be between 1 and 4096, got True"),
        ({"latent_size": "64"}, "latent_size must be between 1 and 4096, got '64'"),
        ({"image_size": 1024}, "image_size must be 784, got 1024"),
    ],
)
def test_config_sizes_are_checked_before_anything_is_allocated(run_copy, values, message):
    write_config(run_copy, **values)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.monotonic()
    with pytest.raises(ValueError, match=message):
        load_generator(run_copy)
    assert time.monotonic() - began < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000  # KiB: no 4 GB model


@pytest.mark.parametrize("text", ["[64, 256]", "not json", "\udcff"])
def test_a_config_that_is_not_an_object_is_a_clear_error(run_copy, text):
    (run_copy / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match="config.json is not a valid generator config"):
        load_generator(run_copy)


def test_tensor_shapes_are_read_from_the_header_and_checked_against_the_config(run_copy):
    weights = load_file(run_copy / "model.safetensors")
    weights["net.2.weight"] = torch.zeros(256, 128)
    save_file(weights, run_copy / "model.safetensors")
    with pytest.raises(ValueError, match=r"net.2.weight: \(256, 128\), the config needs \(256, 256\)"):
        load_generator(run_copy)


@pytest.mark.parametrize("damage", ["nan", "inf", "constant"])
def test_weights_must_be_finite_and_draw_more_than_one_image(run_copy, damage):
    weights = load_file(run_copy / "model.safetensors")
    if damage == "constant":  # the last layer ignores its input: every latent gives the same digit
        weights["net.4.weight"] = torch.zeros_like(weights["net.4.weight"])
        expected = "draws the same image for every latent"
    else:
        weights["net.0.bias"][3] = float(damage)
        expected = "NaN or infinite"
    save_file(weights, run_copy / "model.safetensors")
    with pytest.raises(ValueError, match=expected):
        load_generator(run_copy)


def test_a_bad_history_keeps_what_is_sound(run_copy):
    history = json.loads((run_copy / "history.json").read_text())
    history["epochs"][5]["d_x"] = "high"  # not a number
    history["epochs"][6] = ["not", "a", "row"]
    history["epochs"][7]["quality"] = {"mnist_fd": 3}  # incomplete figures
    history["epochs"].append({**history["epochs"][-1], "epoch": 2})  # out of order
    history["config"] = "a string"
    history["meta"]["device_name"] = {"nested": [object.__name__]}
    (run_copy / "history.json").write_text(json.dumps(history))
    checked = read_history(run_copy / "history.json")
    assert len(checked["epochs"]) == 300 - 2 and checked["config"] == {}
    assert [row["epoch"] for row in checked["epochs"]] == sorted({row["epoch"] for row in checked["epochs"]})
    assert "quality" not in next(row for row in checked["epochs"] if row["epoch"] == 8)
    generator, loaded = load_generator(run_copy)
    assert loaded == checked and np.isfinite([row["d_x"] for row in loaded["epochs"]]).all()
