"""A run's folder, or files of it, removed while it trains: the run stops and says so, or writes
back what it can rebuild; it never makes the folder again without the run's earlier files.

Each test acts at a point the run reaches on every machine: it reads train.py's output up to an
epoch's line and stops reading. What is still to be printed (hundreds of epoch lines) is more than
a pipe holds (64 KiB), so the run cannot have ended before the test acts, however fast the CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

from gan_core.runs.checkpoint import read_training_state
from tests.helpers import run_script, start_training, train_args


def remove(folder: Path) -> None:
    """What `rm -rf` leaves, at once: a rename first, so the trainer never sees a half-removed folder."""
    gone = folder.with_name(folder.name + ".removed")
    os.rename(folder, gone)
    shutil.rmtree(gone)


def run_until(args: list, line_start: str):
    """train.py started, its output read up to the first line that starts with `line_start`."""
    process = start_training(args)
    for line in process.stdout:
        if line.startswith(line_start):
            return process
    raise AssertionError(f"no line starting with {line_start!r}: {process.communicate()}")


def assert_stopped_with(process, *phrases: str) -> str:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stdout[-2000:] + stderr
    assert "Traceback" not in stderr and "None" not in stderr
    for phrase in phrases:
        assert phrase in stderr, stderr
    return stderr


def epochs_of(run: Path) -> list[int]:
    return [row["epoch"] for row in json.loads((run / "history.json").read_text())["epochs"]]


def test_a_seed_folder_removed_while_seeds_train_together_stops_that_seed_and_is_not_made_again(
    tiny_data, tmp_path
):
    out = tmp_path / "many"
    flags = ("--seeds", "0-2", "--sample-every", 50)
    process = run_until(train_args(tiny_data, out, *flags, "--epochs", 500), "seed 2: epoch    2/")
    remove(out / "seed-1")

    stderr = assert_stopped_with(
        process, f"seed 1: {out / 'seed-1'} was removed or replaced while the run trained in it",
        "the other runs keep epoch", "go on with the same --seeds command and --resume",
    )  # fmt: skip
    assert "all trained" not in stderr and not (out / "seed-1").exists()
    for seed in (0, 2):  # the others stopped at a finished epoch, each a whole run directory
        epoch = read_training_state(out / f"seed-{seed}")["epoch"]
        assert epoch >= 2 and epochs_of(out / f"seed-{seed}") == list(range(1, epoch + 1))
        assert (out / f"seed-{seed}" / "config.json").is_file()
    # The same command with --resume goes on with seeds 0 and 2 and starts seed 1 again, whole.
    last = max(read_training_state(out / f"seed-{seed}")["epoch"] for seed in (0, 2))
    resumed = run_script(*train_args(tiny_data, out, *flags, "--resume", "--epochs", last + 1))
    assert resumed.returncode == 0, resumed.stderr
    assert epochs_of(out / "seed-1") == list(range(1, last + 2))
    assert {"config.json", "model.safetensors", "training_state.pt", "README.md"} <= {
        path.name for path in (out / "seed-1").iterdir()
    }


def test_a_seed_folder_removed_while_seeds_train_one_after_the_other_stops_the_command(tiny_data, tmp_path):
    out = tmp_path / "many"
    args = train_args(tiny_data, out, "--seeds", "0,1", "--engine", "autograd", "--epochs", 1000,
                      "--sample-every", 500)  # fmt: skip
    process = run_until(args, "epoch    2/1000")  # seed 0's second epoch
    remove(out / "seed-0")

    assert_stopped_with(process, f"error: seed 0: {out / 'seed-0'} was removed or replaced")
    assert not (out / "seed-0").exists() and not (out / "seed-1").exists()  # seed 1 never began


def test_config_json_and_the_real_images_removed_mid_run_are_written_back(tiny_data, tmp_path):
    out = tmp_path / "run"
    process = run_until(train_args(tiny_data, out, "--epochs", 1000, "--sample-every", 500), "epoch    2/")
    before = {name: (out / name).read_bytes() for name in ("config.json", "real_images.png")}
    for name in before:
        (out / name).unlink()
    process.send_signal(signal.SIGINT)  # the files of the last epoch are written, and the folder checked
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "continue with --resume" in stdout
    assert {name: (out / name).read_bytes() for name in before} == before


def test_the_samples_folder_removed_mid_run_stops_it_with_the_checkpoint_kept(tiny_data, tmp_path):
    out = tmp_path / "run"
    process = run_until(train_args(tiny_data, out, "--epochs", 1000), "epoch    2/")
    remove(out / "samples")

    assert_stopped_with(
        process, f"{out / 'samples'} was removed or replaced while the run trained",
        f"the checkpoint of the last finished epoch in {out} is kept",
    )  # fmt: skip
    assert not (out / "samples").exists()
    assert epochs_of(out) == list(range(1, read_training_state(out)["epoch"] + 1))


def test_a_sample_grid_removed_mid_run_is_named_when_the_run_stops(tiny_data, tmp_path):
    out = tmp_path / "run"
    process = run_until(train_args(tiny_data, out, "--epochs", 1000), "epoch    2/")
    (out / "samples" / "epoch_0001.png").unlink()
    process.send_signal(signal.SIGINT)

    assert_stopped_with(
        process, "sample grids of this run were removed while it trained (epoch_0001.png in",
        "cannot be drawn again. The run is otherwise complete and resumable",
    )  # fmt: skip
    assert epochs_of(out) == list(range(1, read_training_state(out)["epoch"] + 1))
