"""Training under faults a real machine has: a full disk, a read-only folder, a loss that blows up.

The disk faults use a real tmpfs, so writes fail with the kernel's own ENOSPC and EROFS
(mounting needs root, as CI has; elsewhere these two tests skip and say why).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from gan_core.loading import load_generator
from gan_core.run_files import read_training_state
from tests.helpers import run_script, train_args


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def train(data_dir: Path, out: Path, epochs: int, *extra: str) -> subprocess.CompletedProcess:
    return run_script(
        *train_args(data_dir, out, "--epochs", str(epochs), *extra),
    )


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def assert_one_clear_error(result: subprocess.CompletedProcess, *phrases: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ")
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_a_full_disk_stops_training_and_keeps_the_last_checkpoint(tiny_data, small_disk):
    out = small_disk / "run"
    assert train(tiny_data, out, 2).returncode == 0
    before = file_bytes(out)
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (free - 256 * 1024))  # room for a sample grid, not for the weights

    result = train(tiny_data, out, 4, "--resume")

    assert_one_clear_error(result, "No space left on device", f"the checkpoint of epoch 2 in {out} is kept")
    after = file_bytes(out)
    assert {name: after[name] for name in before} == before  # every old file byte for byte
    assert not [name for name in after if name.endswith(".tmp")]  # no half-written leftovers
    assert read_training_state(out)["epoch"] == 2 and load_generator(out)[0] is not None

    filler.unlink()  # space again: the same command finishes the run
    assert train(tiny_data, out, 4, "--resume").returncode == 0
    assert [row["epoch"] for row in json.loads((out / "history.json").read_text())["epochs"]] == [1, 2, 3, 4]


def test_a_read_only_folder_is_a_clear_error_and_changes_nothing(tiny_data, small_disk):
    out = small_disk / "run"
    assert train(tiny_data, out, 2).returncode == 0
    before = file_bytes(out)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    resumed = train(tiny_data, out, 4, "--resume")
    fresh = train(tiny_data, small_disk / "new-run", 2)

    assert_one_clear_error(resumed, "Read-only file system", f"the checkpoint of epoch 2 in {out} is kept")
    assert_one_clear_error(fresh, "Read-only file system", "no epoch was saved")
    assert file_bytes(out) == before and not (small_disk / "new-run").exists()


def test_a_loss_that_becomes_nan_stops_at_that_epoch_and_keeps_the_one_before(tiny_data, tmp_path):
    out = tmp_path / "diverged"
    # A learning rate of 1e11 overflows the weights during epoch 2 of this data (CPU runs are
    # deterministic): the scores turn NaN, which BCE alone would answer with a traceback.
    result = train(tiny_data, out, 10, "--lr", "1e11", "--recipe", "tutorial")

    message = assert_one_clear_error(result, "became NaN or infinite", "try a smaller --lr")
    epoch = int(message.split("epoch ")[1].split(":")[0])
    assert epoch >= 2 and f"the checkpoint of epoch {epoch - 1} in {out} is kept" in message
    assert read_training_state(out)["epoch"] == epoch - 1
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == list(range(1, epoch))
    assert load_generator(out)[0] is not None  # the kept weights are finite and load


def test_a_loss_that_is_nan_in_the_first_epoch_says_nothing_was_saved(tiny_data, tmp_path):
    result = train(tiny_data, tmp_path / "diverged", 3, "--lr", "1e20")
    assert_one_clear_error(result, "epoch 1: a loss or weight became NaN", "no epoch was saved")
    assert read_training_state(tmp_path / "diverged")["epoch"] == 0  # the state before epoch 1
