"""The run directory belongs to one run, and nothing of the user's is ever lost: real processes,
real signals, real files."""

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers import ROOT, run_script, start_training, train_args


def snapshot(folder):
    """Every file under `folder` with its bytes and its modification time."""
    return {
        path.relative_to(folder): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    "present", ["README.md", "config.json", "samples/epoch_0001.png", "notes.txt", "model.safetensors"]
)
def test_a_folder_of_the_users_is_refused_and_left_as_it_was(tiny_data, tmp_path, present):
    folder = tmp_path / "mine"
    (folder / present).parent.mkdir(parents=True)
    (folder / present).write_text("the user's own file\n")
    before = snapshot(folder)
    result = run_script(*train_args(tiny_data, folder, "--epochs", "1"))
    assert result.returncode == 2 and len(error_lines(result)) == 1, result.stderr
    assert str(folder) in error_lines(result)[0] and "Traceback" not in result.stderr
    assert snapshot(folder) == before


def test_out_dot_in_the_project_changes_nothing(tiny_data):
    before = snapshot(ROOT / "weights"), (ROOT / "README.md").read_bytes()
    result = run_script(*train_args(tiny_data, ".", "--epochs", "1"))
    assert result.returncode == 2 and "is not empty and holds no run of train.py" in result.stderr
    assert (snapshot(ROOT / "weights"), (ROOT / "README.md").read_bytes()) == before


def test_a_second_process_on_the_same_run_fails_at_once_and_a_killed_one_blocks_nothing(tiny_data, tmp_path):
    out = tmp_path / "busy"
    first = start_training(train_args(tiny_data, out, "--epochs", "100000"))
    for line in first.stdout:
        if line.startswith("epoch    2/"):
            break
    try:
        for extra in (["--resume", "--epochs", "3"], ["--epochs", "3"], ["--push-only", "--repo-id", "a/b"]):
            began = time.monotonic()
            second = run_script(*train_args(tiny_data, out, *extra), timeout=60)
            assert second.returncode == 2 and time.monotonic() - began < 30, second.stderr
            assert "is in use by another train.py" in second.stderr and len(error_lines(second)) == 1
    finally:
        first.kill()
        first.wait(timeout=30)
    # The OS released the dead process's lock: the run goes on at once.
    resumed = run_script(*train_args(tiny_data, out, "--resume", "--epochs", "3", "--sample-every", "50"))
    assert resumed.returncode == 0, resumed.stderr


def test_a_run_trained_from_python_is_free_for_another_process_once_the_command_ends(tiny_data, tmp_path):
    # train.main() from a Python session (a notebook; here the test's own process) lets go of the
    # folder as it returns: a train.py process can then resume the run, and push it.
    out = tmp_path / "from-python"
    assert run_script(*train_args(tiny_data, out, "--epochs", "1", "--sample-every", "50")).returncode == 0
    resumed = run_script(*train_args(tiny_data, out, "--resume", "--epochs", "2"), new_process=True)
    assert resumed.returncode == 0 and "is in use" not in resumed.stderr, resumed.stderr


def test_a_run_killed_at_any_moment_of_its_start_goes_on_with_resume(tiny_data, tmp_path):
    rng = random.Random(3)
    for attempt in range(4):
        out = tmp_path / f"early-{attempt}"
        process = start_training(train_args(tiny_data, out, "--epochs", "2"))
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.15))  # before, during or after the first checkpoint
        process.kill()
        process.wait(timeout=30)
        resumed = run_script(*train_args(tiny_data, out, "--resume", "--epochs", "2"))
        assert resumed.returncode == 0, (attempt, resumed.stderr)
        history = json.loads((out / "history.json").read_text())
        assert [row["epoch"] for row in history["epochs"]] == [1, 2]


def test_temporary_files_of_a_crashed_writer_go_at_the_next_start(tiny_data, tmp_path):
    out = tmp_path / "crashed"
    assert run_script(*train_args(tiny_data, out, "--epochs", "1")).returncode == 0
    leftovers = [out / ".training_state.pt.k2j4h_1x.tmp", out / "samples" / ".epoch_0002.png.abcd1234.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a file")
    assert run_script(*train_args(tiny_data, out, "--resume", "--epochs", "2")).returncode == 0
    assert not any(path.exists() for path in leftovers)


def test_files_get_the_usual_permissions_and_no_local_path(tiny_data, tmp_path):
    out = tmp_path / "shared"
    result = subprocess.run(
        [sys.executable, *train_args(tiny_data, out, "--epochs", "1")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    for name in ("history.json", "README.md"):
        text = (out / name).read_text()
        assert str(tmp_path) not in text and str(tiny_data) not in text


def damage(state_file, how):
    state = torch.load(state_file, weights_only=True)
    if how == "truncated":
        state_file.write_bytes(state_file.read_bytes()[:5000])
        return
    if how == "not a dict":
        state = [1, 2, 3]
    elif how == "missing key":
        del state["generator"]
    elif how == "wrong type":
        state["epoch"] = "two"
    elif how == "wrong shape":
        state["generator"]["net.0.weight"] = torch.zeros(3, 3)
    elif how == "optimizer of another model":
        state["d_optimizer"] = {"state": {}, "param_groups": []}
    elif how == "history cut short":  # the rows live in history.json (and its journal)
        history_file = state_file.parent / "history.json"
        history = json.loads(history_file.read_text())
        history_file.write_text(json.dumps({**history, "epochs": history["epochs"][:1]}))
        return
    elif how == "whole history cut short":  # as a state written before the rows moved out
        state["history"]["epochs"] = [{"epoch": 1}]
    elif how == "older version":
        del state["history"]["meta"]
    torch.save(state, state_file)


@pytest.fixture(scope="module")
def two_epoch_run(tiny_data, tmp_path_factory):
    """One finished 2-epoch run, which each damage below copies before it breaks something."""
    out = tmp_path_factory.mktemp("runs") / "two"
    assert run_script(*train_args(tiny_data, out, "--epochs", "2")).returncode == 0
    return out


@pytest.mark.parametrize(
    "how",
    ["truncated", "not a dict", "missing key", "wrong type", "wrong shape", "optimizer of another model",
     "history cut short", "whole history cut short", "older version"],
)  # fmt: skip
def test_a_damaged_training_state_is_one_error_line_and_changes_nothing(
    tiny_data, tmp_path, how, two_epoch_run
):
    out = tmp_path / "damaged"
    shutil.copytree(two_epoch_run, out)
    damage(out / "training_state.pt", how)
    before = snapshot(out)
    result = run_script(*train_args(tiny_data, out, "--resume", "--epochs", "3"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(error_lines(result)) == 1 and "training_state.pt" in error_lines(result)[0]
    assert snapshot(out) == before
