"""Training under faults a real machine has: a full disk, a read-only folder, a loss that blows up.

The disk faults use a real tmpfs, so writes fail with the kernel's own ENOSPC and EROFS
(mounting needs root, as CI has; elsewhere these two tests skip and say why).
"""

import json
import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.hub.pull import load_generator
from gan_core.runs.checkpoint import read_training_state
from gan_core.training.epochs import make_epoch_runner
from gan_core.training.loop import EpochLoop
from gan_core.training.state import build_state
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


def resume_with_learning_rate(run_dir: Path, lr: float) -> None:
    """Make the optimizers in training_state.pt resume at `lr` (--resume refuses another --lr)."""
    path = run_dir / "training_state.pt"
    state = torch.load(path, weights_only=True)
    for optimizer in ("g_optimizer", "d_optimizer"):
        for group in state[optimizer]["param_groups"]:
            group["lr"] = torch.tensor(lr) if torch.is_tensor(group["lr"]) else lr
    torch.save(state, path)


def test_a_loss_that_becomes_nan_stops_at_that_epoch_and_keeps_the_one_before(tiny_data, tmp_path):
    out = tmp_path / "diverged"
    assert train(tiny_data, out, 2, "--recipe", "tutorial").returncode == 0
    kept = file_bytes(out)
    # Epoch 3 trains at a rate of 1e20, on every machine: its first step moves each weight by about
    # 1e20, and its second step's products reach about 1e40, far past float32's 3.4e38 (when a
    # merely large rate such as 1e11 overflows depends on the CPU's rounding; this does not).
    resume_with_learning_rate(out, 1e20)
    result = train(tiny_data, out, 10, "--recipe", "tutorial", "--resume")

    message = assert_one_clear_error(
        result, "epoch 3: a loss or weight became NaN or infinite", f"checkpoint of epoch 2 in {out} is kept"
    )
    assert "try a smaller --lr" in message
    assert read_training_state(out)["epoch"] == 2
    assert [row["epoch"] for row in json.loads((out / "history.json").read_text())["epochs"]] == [1, 2]
    assert load_generator(out)[0] is not None  # the kept weights are finite and load
    after = file_bytes(out)
    assert {name: after[name] for name in kept if name != "training_state.pt"} == {
        name: data for name, data in kept.items() if name != "training_state.pt"
    }  # epoch 2's files as they were


def test_a_loss_that_is_nan_in_the_first_epoch_says_nothing_was_saved(tiny_data, tmp_path):
    result = train(tiny_data, tmp_path / "diverged", 3, "--lr", "1e20")
    assert_one_clear_error(result, "epoch 1: a loss or weight became NaN", "no epoch was saved")
    assert read_training_state(tmp_path / "diverged")["epoch"] == 0  # the state before epoch 1


def test_a_full_disk_under_seeds_names_each_seed_folder_and_keeps_its_checkpoint(tiny_data, small_disk):
    out = small_disk / "many"
    assert train(tiny_data, out, 2, "--seeds", "0,1").returncode == 0
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(b"\0" * (free - 256 * 1024))

    result = train(tiny_data, out, 4, "--seeds", "0,1", "--resume")

    assert result.returncode == 2 and "Traceback" not in result.stderr and "None" not in result.stderr
    seed_0 = out / "seed-0"
    assert (
        f"error: seed 0: cannot write {seed_0}: No space left on device; the checkpoint of epoch 2 in "
        f"{seed_0} is kept" in result.stderr
    ), result.stderr
    assert "go on with the same --seeds command and --resume" in result.stderr
    assert [read_training_state(out / f"seed-{seed}")["epoch"] for seed in (0, 1)] == [2, 2]


def test_quality_over_seeds_that_cannot_be_written_is_one_clear_error(tiny_data, tmp_path):
    out = tmp_path / "many"
    (out / "quality_over_seeds.json").mkdir(parents=True)  # in the way of the figures' file
    result = train(tiny_data, out, 2, "--seeds", "0,1", "--batch-size", 50, "--subset", 100, "--eval-every",
                   2, "--eval-samples", 50)  # fmt: skip

    message = assert_one_clear_error(
        result, f"cannot write {out / 'quality_over_seeds.json'}: Is a directory",
        "every seed's run is complete; the figures are the ones printed above",
    )  # fmt: skip
    assert "None" not in message and "quality over 2 seeds" in result.stdout


class CtrlCInItsDestructor:
    """Sends this process a SIGINT from its __del__: a Ctrl-C that lands in a destructor (as one
    did in a progress bar's), made to happen on purpose at a chosen step."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_that_lands_in_a_destructor_stops_the_run_at_the_next_step():
    # Python prints an exception raised in __del__ as "Exception ignored" and goes on: the run used
    # to train on to its last epoch. Test workers may ignore SIGINT, so Python's own handler is set.
    config = TrainConfig(batch_size=4, epochs=3)
    state = build_state(config, torch.device("cpu"))
    runner = make_epoch_runner(state, torch.rand(16, 784) * 2 - 1, config.batch_size, use_graphs=False)
    loop = EpochLoop(runner, config, lambda lr: None, first_epoch=1)
    steps, epochs_done = [], []

    @contextmanager
    def progress(epoch):
        def after_step(step, totals):
            steps.append((epoch, step))
            if (epoch, step) == (2, 1):
                CtrlCInItsDestructor()  # made and dropped at once: its __del__ runs here

        yield after_step

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run(lambda epoch, *rest: epochs_done.append(epoch), on_step=progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert steps[-1] == (2, 1) and loop.epoch == 2 and epochs_done == [1]
