"""Damaged files and hostile input fail clearly and safely."""

import json
import random
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest
from safetensors.torch import load_file

from gan_core.data import download_timeout
from gan_core.hub.client import check_repo_id
from gan_core.hub.pull import load_generator
from gan_core.runs.checkpoint import read_training_state
from tests.helpers import ROOT, train_args
from ui.context import load_app_model
from ui.settings import whole_setting


@pytest.fixture
def run_copy(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(ROOT / "weights", folder)
    return folder


def test_a_truncated_weights_file_is_a_clear_error(run_copy):
    data = (run_copy / "model.safetensors").read_bytes()
    (run_copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors file"):
        load_generator(run_copy)


def test_weights_that_do_not_match_the_config_are_a_clear_error(run_copy):
    (run_copy / "config.json").write_text(
        json.dumps({"latent_size": 32, "hidden_size": 256, "image_size": 784})
    )
    with pytest.raises(ValueError, match="model.safetensors does not match .*config.json"):
        load_generator(run_copy)


def test_a_missing_history_is_a_clear_error(run_copy):
    (run_copy / "history.json").unlink()
    with pytest.raises(ValueError, match="history.json is missing"):
        load_generator(run_copy)


@pytest.mark.parametrize(
    "repo_id",
    ["../../etc", "user/../x", "no-slash", "a/b/c", "user/name.git", "", "user/ name", "user/name\n",
     "user/name.", "user/a--b", "user/name.GIT", "-user/name", "user/.name", "user/a..b", "user/" + "x" * 97],
)  # fmt: skip
def test_model_repo_must_be_a_repo_id_and_the_app_falls_back(repo_id):
    with pytest.raises(ValueError, match="is not a Hub repo id"):
        check_repo_id(repo_id)
    if repo_id and repo_id == repo_id.strip():  # the app strips a Space setting's stray whitespace first
        model = load_app_model({"MODEL_REPO": repo_id})
        assert model.source == "bundled weights" and "is not a Hub repo id" in model.notice


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        str(ROOT / "app.py"),
        str(ROOT / "weights" / "model.safetensors"),
    ],
)
def test_the_app_serves_no_files_outside_its_outputs(app_url, path):
    for route in (f"gradio_api/file={path}", f"file={path}"):
        response = httpx.get(app_url + route)
        assert response.status_code in (403, 404), (route, response.status_code)
        assert b"root:" not in response.content


def test_sigkill_at_random_points_then_resume_gives_a_complete_continuous_run(tiny_data, tmp_path):

    out, epochs, rng = tmp_path / "killed", 30, random.Random(7)
    command = [
        sys.executable,
        *train_args(tiny_data, out, "--epochs", str(epochs), "--sample-every", "5"),
    ]
    for kill_point in range(3):
        process = subprocess.Popen(
            command + (["--resume"] if kill_point else []),
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        wanted = rng.randint(1, 3)  # epochs to let finish in this attempt
        seen = 0
        for line in process.stdout:
            seen += line.startswith("epoch ")
            if seen >= wanted:
                break
        time.sleep(rng.uniform(0, 0.2))  # somewhere inside the next epoch or its checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        saved = read_training_state(out)["epoch"]
        history = json.loads((out / "history.json").read_text())
        assert [row["epoch"] for row in history["epochs"]][:saved] == list(range(1, saved + 1))
        load_file(out / "model.safetensors")
    finished = subprocess.run(command + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == list(range(1, epochs + 1))
    assert load_generator(out)[0] is not None and read_training_state(out)["epoch"] == epochs


@pytest.mark.parametrize(
    "value, expected",
    [(" 12\n", 12), ("1", 1), ("10000", 10_000), ("0", 64), ("10001", 64), ("-3", 64), ("abc", 64),
     ("", 64), ("1e3", 64), ("12.0", 64), ("9" * 400, 64)],
)  # fmt: skip
def test_a_space_setting_is_a_bounded_whole_number_or_the_default(value, expected, caplog):
    assert whole_setting("QUEUE_MAX_SIZE", 64, high=10_000, environ={"QUEUE_MAX_SIZE": value}) == expected
    assert ("is not a whole number from 1 to 10000; using 64" in caplog.text) == (expected == 64)
    assert whole_setting("QUEUE_MAX_SIZE", 64, high=10_000, environ={}) == 64  # unset: the default


@pytest.mark.parametrize(
    "value, expected", [("3", 3.0), (" 0.5 ", 0.5), ("", 20.0), ("0", 20.0), ("-1", 20.0), ("abc", 20.0),
                        ("nan", 20.0), ("1e9", 20.0)],
)  # fmt: skip
def test_the_mnist_read_timeout_is_seconds_or_the_default_with_a_warning(value, expected, capsys):
    assert download_timeout({"MNIST_READ_TIMEOUT": value}) == expected
    warned = "is not a number of seconds from 0 to 3600; using 20" in capsys.readouterr().err
    assert warned == (expected == 20.0 and value.strip() != "")
