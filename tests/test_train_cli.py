"""train.py run as users run it, on tiny IDX files the tests write."""

import fcntl
import gzip
import json
import os
import pty
import re
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
import torch
from safetensors.torch import load_file

from gan_core.models import Generator
from gan_core.runs.checkpoint import read_training_state
from gan_core.runs.reading import read_generator
from tests.helpers import ROOT, run_script, start_training, train_args, write_tiny_mnist

RUN_FILES = {
    "model.safetensors",
    "discriminator.safetensors",
    "config.json",
    "history.json",
    "scores.png",
    "real_images.png",
    "training_state.pt",
    "README.md",
}


def train(data_dir, out, *extra, epochs=2):
    result = run_script(
        *train_args(data_dir, out, "--epochs", str(epochs), *extra),
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def two_epoch_run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "two"
    result = train(tiny_data, out, "--batch-size", "50")
    return out, result


def test_run_directory_holds_every_file(two_epoch_run):
    out, result = two_epoch_run
    assert RUN_FILES <= {path.name for path in out.iterdir()}
    assert sorted(path.name for path in (out / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert "epoch    2/2" in result.stdout and str(out.resolve()) in result.stdout


def test_history_records_epoch_means_config_and_metadata(two_epoch_run):
    history = json.loads((two_epoch_run[0] / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [1, 2]
    for row in history["epochs"]:
        assert 0 < row["d_x"] < 1 and 0 < row["d_g_z"] < 1 and row["d_loss"] > 0 and row["g_loss"] > 0
    assert history["config"]["batch_size"] == 50 and history["config"]["epochs"] == 2
    assert history["meta"]["device"] == "cpu" and history["meta"]["torch"] == torch.__version__
    assert history["config"]["engine"] == "auto" and history["meta"]["engine"] == "fused"  # auto, on a CPU
    assert history["meta"]["training_seconds"] > 0


def test_weights_load_back_into_an_identical_generator(two_epoch_run):
    out = two_epoch_run[0]
    trained = read_training_state(out)["generator"]
    for loaded in (read_generator(out), Generator.from_pretrained(str(out))):
        for name, tensor in trained.items():
            assert torch.equal(loaded.state_dict()[name], tensor), name


def test_resuming_equals_training_straight_through(tiny_data, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(tiny_data, straight, epochs=2)
    train(tiny_data, resumed, epochs=1)
    result = train(tiny_data, resumed, "--resume", epochs=2)
    assert "epoch    2/2" in result.stdout and "epoch    1/" not in result.stdout
    for name in ("model.safetensors", "discriminator.safetensors"):
        first, second = load_file(straight / name), load_file(resumed / name)
        assert all(torch.equal(first[key], second[key]) for key in first)
    rows = lambda path: [
        {k: v for k, v in row.items() if k != "seconds"}
        for row in json.loads((path / "history.json").read_text())["epochs"]
    ]
    assert rows(straight) == rows(resumed)


def test_same_seed_same_weights_other_seed_other_weights(tiny_data, tmp_path):
    # Run b reads the same images gzipped, as a mirror hands them out (torchvision reads only the
    # plain files, and tried to download the rest again).
    gzipped = tmp_path / "gz" / "MNIST" / "raw"
    gzipped.mkdir(parents=True)
    for path in (tiny_data / "MNIST" / "raw").iterdir():
        (gzipped / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    for name, seed, data in (("a", "5", tiny_data), ("b", "5", tmp_path / "gz"), ("c", "6", tiny_data)):
        train(data, tmp_path / name, "--seed", seed, "--subset", "200", epochs=1)
    weights = {name: (tmp_path / name / "model.safetensors").read_bytes() for name in "abc"}
    assert weights["a"] == weights["b"] != weights["c"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data-dir", "{tmp}/nowhere"], "expected the IDX files"),
        (["--batch-size", "1000"], "larger than the 400 training images"),
        (["--epochs", "0"], "--epochs: must be a whole number between 1 and 1,000,000, got 0"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--lr", "nan"], "--lr: must be a number between 0 and 1e+38 (0 excluded), got nan"),
        (["--r1-gamma", "-1"], "--r1-gamma: must be a number between 0 and 1,000,000, got -1.0"),
        (["--push-only", "--repo-id", "../x"], "'../x' is not a Hub repo id"),
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(tiny_data, tmp_path, args, message):
    out = tmp_path / "run"
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(tiny_data)]
    result = run_script("train.py", "--out", str(out), "--device", "cpu", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "nowhere").exists()


def test_a_finished_run_is_not_overwritten_without_resume(two_epoch_run, tiny_data):
    out = two_epoch_run[0]
    before = (out / "model.safetensors").read_bytes()
    result = run_script(
        "train.py", "--data-dir", str(tiny_data), "--out", str(out), "--epochs", "1", "--device", "cpu"
    )
    assert result.returncode == 2 and "already holds a run" in result.stderr
    assert (out / "model.safetensors").read_bytes() == before


def test_resume_with_different_settings_says_which_differ(two_epoch_run, tiny_data):
    result = run_script(
        *train_args(tiny_data, two_epoch_run[0], "--resume", "--epochs", "3", "--lr", "0.001"),
    )
    assert result.returncode == 2
    assert "--lr is 0.001 but the run used 0.0002" in result.stderr


def test_resume_on_other_data_is_refused_and_changes_nothing(two_epoch_run, tmp_path):
    # The same file names and sizes, other contents: a folder of another data set, or damaged data.
    other = write_tiny_mnist(tmp_path / "other", seed=1)
    out = two_epoch_run[0]
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    result = run_script(*train_args(other, out, "--resume", "--epochs", "3", "--batch-size", "50"))
    assert result.returncode == 2, result.stderr
    assert (
        "the training data differ from the run's (train-images-idx3-ubyte has other contents" in result.stderr
    )
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_on_a_terminal_one_bar_follows_the_whole_run_below_the_epoch_lines(tiny_data, tmp_path):
    # A pseudo-terminal 100 columns wide (a fresh one is 0 wide, where tqdm draws nothing).
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    arguments = train_args(tiny_data, tmp_path / "run", "--epochs", "3", "--batch-size", "50")
    process = subprocess.Popen([sys.executable, *arguments], cwd=ROOT, stdout=follower, stderr=follower)
    os.close(follower)
    screen = b""
    while chunk := _read_or_end(leader):
        screen += chunk
    assert process.wait(timeout=60) == 0
    text = screen.decode()
    assert re.search(r"run: 100%\|.*\| 3/3 \[", text), text  # the overall bar, at its end
    assert "epoch    3/3  d_loss" in text  # the epoch lines are still written, above the bar
    assert text.index("epoch    1/3  d_loss") < text.rindex("run: 100%")


def _read_or_end(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 65536)
    except OSError:  # the child closed the terminal
        return b""


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--engine", "triton"],
            "--engine triton runs Triton kernels on a CUDA GPU; use --engine fused here",
        ),
        (["--engine", "triton", "--compile"], "--compile compiles the autograd step, --engine triton is"),
    ],
)
def test_an_engine_that_cannot_run_is_refused_before_the_hub_or_any_folder(flags, message, tmp_path):
    out = tmp_path / "out"
    # --device cpu (train_args), and --seeds and --push too: the engine is checked before the Hub
    # (unreachable here) or any folder
    result = run_script(
        *train_args(tmp_path / "no-data", out, *flags, "--seeds", "0,1", "--push", "--repo-id", "a/b")
    )
    assert result.returncode == 2 and result.stderr.startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not result.stdout and not out.exists()


def test_a_hub_timeout_that_is_not_whole_seconds_is_a_warning_not_a_traceback():
    # huggingface_hub itself would stop with a ValueError at import (its int() of the setting).
    result = run_script("train.py", "--help", env={"HF_HUB_DOWNLOAD_TIMEOUT": "1.5"})
    assert result.returncode == 0 and "usage: train.py" in result.stdout
    warning = "warning: HF_HUB_DOWNLOAD_TIMEOUT='1.5' is not a whole number of seconds; using 10"
    assert result.stderr.strip() == warning


def test_real_mnist_short_run_learns_to_tell_real_from_fake(real_data, tmp_path):
    train(real_data, tmp_path / "real", "--subset", "2000", epochs=2)
    last = json.loads((tmp_path / "real" / "history.json").read_text())["epochs"][-1]
    assert last["d_x"] > last["d_g_z"]


# SIGTERM is what kill, Docker, systemd and job schedulers send: handled like Ctrl-C, exit 128 + 15.
@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_leaves_a_consistent_run_that_resumes(
    tiny_data, tmp_path, signal_number, exit_code
):
    out = tmp_path / "my run's folder"  # the hint quotes it for the shell
    process = start_training(train_args(tiny_data, out, "--epochs", "500", "--sample-every", "50"))
    for line in process.stdout:  # wait until training is under way
        if line.startswith("epoch    3/"):
            break
    time.sleep(0.3)
    process.send_signal(signal_number)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == exit_code
    assert f"continue with --resume --out {shlex.quote(str(out))}" in stdout
    assert not list(out.rglob("*.tmp"))  # no temporary file left behind
    saved = read_training_state(out)["epoch"]
    history = json.loads((out / "history.json").read_text())
    assert 3 <= saved < 500 and [row["epoch"] for row in history["epochs"]] == list(range(1, saved + 1))

    train(tiny_data, out, "--resume", "--sample-every", "50", epochs=saved + 2)
    resumed = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in resumed["epochs"]] == list(range(1, saved + 3))
    assert load_file(out / "model.safetensors")  # a complete, loadable file


def test_linear_lr_decay_keeps_the_first_half_and_then_lowers_the_rate(tiny_data, tmp_path):
    constant, decaying = tmp_path / "constant", tmp_path / "decaying"
    train(tiny_data, constant, epochs=4)
    train(tiny_data, decaying, "--lr-decay", "linear", epochs=4)
    rows = lambda path: json.loads((path / "history.json").read_text())["epochs"]
    assert [row["lr"] for row in rows(decaying)] == pytest.approx([2e-4, 2e-4, 2e-4 * 2 / 3, 2e-4 / 3])
    means = lambda row: [row[name] for name in ("d_loss", "g_loss", "d_x", "d_g_z")]
    assert [means(row) for row in rows(decaying)[:2]] == [means(row) for row in rows(constant)[:2]]
    assert means(rows(decaying)[2]) != means(rows(constant)[2])  # the lower rate really reaches Adam
    # A run killed part-way resumes on the same schedule: the history equals the straight run's.
    resumed = tmp_path / "resumed"
    command = [
        sys.executable,
        *train_args(tiny_data, resumed, "--epochs", "4", "--lr-decay", "linear"),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:
        if line.startswith("epoch    2/4"):
            process.kill()
            break
    process.wait(timeout=30)
    assert read_training_state(resumed)["epoch"] < 4
    result = run_script(*command[1:], "--resume")
    assert result.returncode == 0, result.stderr
    assert [means(row) for row in rows(resumed)] == [means(row) for row in rows(decaying)]


def test_r1_penalty_changes_training_is_recorded_and_is_kept_on_resume(tiny_data, tmp_path):
    out, plain_out = tmp_path / "r1", tmp_path / "plain"
    train(tiny_data, out, "--batch-size", "50", "--recipe", "tutorial", "--r1-gamma", "10")
    train(tiny_data, plain_out, "--batch-size", "50", "--recipe", "tutorial")
    history = json.loads((out / "history.json").read_text())
    plain = json.loads((plain_out / "history.json").read_text())
    assert history["config"]["resolved"]["r1_gamma"] == 10 and plain["config"]["resolved"]["r1_gamma"] == 0
    # Same seed and data: only the penalty differs, and D's first epoch already moves differently.
    assert history["epochs"][0]["d_x"] != plain["epochs"][0]["d_x"]
    assert "| R1 penalty weight on D | 10.0 |" in (out / "README.md").read_text()
    result = run_script(
        *train_args(
            tiny_data, out, "--resume", "--epochs", "3", "--batch-size", "50", "--recipe", "tutorial"
        ),
    )
    assert result.returncode == 2 and "--r1-gamma is not given but the run used 10.0" in result.stderr


def test_the_default_recipe_is_improved_and_the_old_name_of_the_tutorials_still_works(tiny_data, tmp_path):
    improved = tmp_path / "improved"
    train(tiny_data, improved, "--subset", "200", epochs=1)
    assert json.loads((improved / "history.json").read_text())["config"]["recipe"] == "improved"
    old = tmp_path / "old"
    result = train(tiny_data, old, "--subset", "200", "--recipe", "seed", epochs=1)
    assert "--recipe seed is now called --recipe tutorial" in result.stderr
    assert json.loads((old / "history.json").read_text())["config"]["recipe"] == "tutorial"
    # A run recorded under the old name (as runs of earlier releases are) resumes under the new one.
    state = torch.load(old / "training_state.pt", weights_only=True)
    state["history"]["config"]["recipe"] = "seed"
    torch.save(state, old / "training_state.pt")
    train(tiny_data, old, "--subset", "200", "--recipe", "tutorial", "--resume", epochs=2)
    assert "| recipe | tutorial |" in (old / "README.md").read_text()


def test_a_run_of_a_recipe_that_has_since_changed_is_not_resumed(tiny_data, tmp_path):
    out = tmp_path / "improved"
    train(tiny_data, out, "--recipe", "improved", "--subset", "200", epochs=1)
    # Make the run look like one of the former "improved" (Adam beta1 0.5, no R1 penalty): what its
    # training_state.pt recorded is all resume has to go on.
    state_file = out / "training_state.pt"
    state = torch.load(state_file, weights_only=True)
    state["history"]["config"]["resolved"].update(adam_betas=[0.5, 0.999], r1_gamma=0.0)
    torch.save(state, state_file)
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    result = run_script(
        *train_args(tiny_data, out, "--resume", "--epochs", "2", "--recipe", "improved", "--subset", "200"),
    )
    assert result.returncode == 2, result.stderr
    assert (
        "--recipe improved now means adam_betas = [0.9, 0.999], but the run used [0.5, 0.999]"
        in result.stderr
    )
    assert "r1_gamma = 10.0, but the run used 0.0" in result.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
