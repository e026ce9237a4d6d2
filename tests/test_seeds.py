"""train.py --seeds: one complete run per seed, each the run its seed gives alone, and the
quality figures over the seeds."""

from __future__ import annotations

import json
import math
import re
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gan_core.runs.checkpoint import read_training_state
from gan_core.runs.seeds import confidence_interval, parse_seeds
from tests.helpers import run_script, start_training, train_args

QUICK = ("--epochs", 2, "--batch-size", 50, "--subset", 100)


def rows_without_timing(run_dir):
    """The per-epoch means (quality figures aside: recording them does not change the training)."""
    rows = json.loads((run_dir / "history.json").read_text())["epochs"]
    return [{key: value for key, value in row.items() if key not in ("seconds", "quality")} for row in rows]


def assert_same_run(one, other, exactly=True):
    """Bit for bit (one after the other), or to float rounding (trained together, stacked). These
    runs take 2 steps an epoch, where the stacked run's means stay within about 1e-7 of the single
    run's (measured); the tolerance is a thousand times that. Over hundreds of steps (MNIST) the GAN
    grows the difference to 1e-3 in one epoch and 1e-2 in five, so longer runs are not compared this way."""
    if exactly:
        assert rows_without_timing(one) == rows_without_timing(other)
    else:
        for row, other_row in zip(rows_without_timing(one), rows_without_timing(other), strict=True):
            assert row == pytest.approx(other_row, rel=1e-4, abs=1e-5)
    for name in ("model.safetensors", "discriminator.safetensors"):
        first, second = load_file(one / name), load_file(other / name)
        assert first.keys() == second.keys()
        assert all(torch.allclose(first[k], second[k], rtol=0, atol=0 if exactly else 1e-4) for k in first)
    grids = [np.asarray(Image.open(run / "samples" / "epoch_0002.png"), dtype=int) for run in (one, other)]
    assert np.abs(grids[0] - grids[1]).max() <= (0 if exactly else 2)  # a few levels of 255 at most


def test_seeds_trained_together_are_each_the_run_that_seed_gives_alone(tiny_data, tmp_path):
    together = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5", "--eval-every", 2,
                                      "--eval-samples", 50, *QUICK))  # fmt: skip
    assert together.returncode == 0, together.stderr
    assert "2 seeds trained together" in together.stdout and "seed 5: epoch    2/2" in together.stdout
    # The quality figures over the seeds: each one's mean and 95% interval, from the runs' histories.
    histories = [json.loads((tmp_path / "many" / f"seed-{s}" / "history.json").read_text()) for s in (3, 5)]
    mean, half = confidence_interval([history["epochs"][-1]["quality"]["mnist_fd"] for history in histories])
    assert "quality over 2 seeds at epoch 2 (mean ± 95% interval):" in together.stdout
    assert f"MNIST-FD           {mean:.2f} ± {half:.2f}" in together.stdout
    written = json.loads((tmp_path / "many" / "quality_over_seeds.json").read_text())
    assert written["seeds"] == [3, 5] and written["runs_evaluated"] == 2
    assert written["evaluated_at_epochs"] == [2, 2]
    assert written["figures"]["MNIST-FD"] == pytest.approx({"mean": mean, "half_width_95": half, "values": [
        history["epochs"][-1]["quality"]["mnist_fd"] for history in histories]})  # fmt: skip
    assert histories[1]["meta"]["path"] == "stacked (2 runs)" and histories[0]["config"]["seed"] == 3
    alone = run_script(*train_args(tiny_data, tmp_path / "alone", "--seed", 5, *QUICK))
    assert alone.returncode == 0, alone.stderr
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == [
        "quality_over_seeds.json",
        "seed-3",
        "seed-5",
    ]
    assert_same_run(tmp_path / "many" / "seed-5", tmp_path / "alone", exactly=False)
    assert rows_without_timing(tmp_path / "many" / "seed-3") != rows_without_timing(tmp_path / "alone")
    # A stacked run goes on alone as if it had been trained alone (its RNG and Adam moments are its own).
    for run in (tmp_path / "many" / "seed-5", tmp_path / "alone"):
        resumed = run_script(*train_args(tiny_data, run, "--seed", 5, "--resume", *QUICK[2:], "--epochs", 3))
        assert resumed.returncode == 0, resumed.stderr
    assert_same_run(tmp_path / "many" / "seed-5", tmp_path / "alone", exactly=False)
    # --resume goes on with the seeds already there and starts the ones not yet begun, together.
    more = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5,8", "--resume", *QUICK))
    assert more.returncode == 0, more.stderr
    assert "seed-3 already has 2 epochs" in more.stdout and "seed-5 already has 3 epochs" in more.stdout
    started = json.loads((tmp_path / "many" / "seed-8" / "history.json").read_text())
    assert started["config"]["seed"] == 8 and len(started["epochs"]) == 2


def test_seeds_with_an_ema_and_a_decaying_rate_train_together_as_their_single_runs(tiny_data, tmp_path):
    # The stacked engine is the fused step's math: an EMA and --lr-decay train together too.
    flags = ("--ema-decay", 0.9, "--lr-decay", "linear", *QUICK)
    together = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5", *flags))
    alone = run_script(*train_args(tiny_data, tmp_path / "alone", "--seed", 5, *flags))
    assert together.returncode == 0 and alone.returncode == 0, together.stderr + alone.stderr
    assert "2 seeds trained together" in together.stdout
    run = tmp_path / "many" / "seed-5"
    history = json.loads((run / "history.json").read_text())
    assert history["meta"]["path"] == "stacked (2 runs)"
    assert [row["lr"] for row in history["epochs"]] == [
        row["lr"] for row in rows_without_timing(tmp_path / "alone")
    ]
    assert_same_run(run, tmp_path / "alone", exactly=False)  # model.safetensors: the EMA's weights
    published, raw = load_file(run / "model.safetensors"), load_file(run / "generator_raw.safetensors")
    assert not all(torch.equal(published[name], raw[name]) for name in published)  # the EMA, not the raw


def test_with_the_autograd_engine_seeds_train_one_after_the_other_bit_for_bit(tiny_data, tmp_path):
    flags = ("--engine", "autograd", *QUICK)
    many = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5", *flags))
    alone = run_script(*train_args(tiny_data, tmp_path / "alone", "--seed", 5, *flags))
    assert many.returncode == 0 and alone.returncode == 0, many.stderr + alone.stderr
    assert "seed 5 (2 of 2)" in many.stdout
    assert_same_run(tmp_path / "many" / "seed-5", tmp_path / "alone")


def test_ctrl_c_stops_seeds_trained_together_at_a_finished_epoch_each_resumable(tiny_data, tmp_path):
    out = tmp_path / "many"
    process = start_training(
        train_args(tiny_data, out, "--seeds", "0-2", "--epochs", 500, "--sample-every", 50)
    )
    for line in process.stdout:  # wait until training is under way
        if line.startswith("seed 2: epoch    3/"):
            break
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    saved = [read_training_state(out / f"seed-{seed}")["epoch"] for seed in range(3)]
    for seed, epoch in enumerate(saved):
        assert (
            f"{out / f'seed-{seed}'} holds epoch {epoch}: continue with the same --seeds command and --resume"
            in stdout
        )
        rows = json.loads((out / f"seed-{seed}" / "history.json").read_text())["epochs"]
        assert 3 <= epoch < 500 and [row["epoch"] for row in rows] == list(range(1, epoch + 1))
    resumed = run_script(*train_args(tiny_data, out, "--seeds", "0-2", "--resume", "--epochs", max(saved) + 1,
                                     "--sample-every", 50))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    for seed in range(3):
        rows = json.loads((out / f"seed-{seed}" / "history.json").read_text())["epochs"]
        assert [row["epoch"] for row in rows] == list(range(1, max(saved) + 2))


@pytest.mark.parametrize(
    "seeds, message",
    [
        ("5-3", "the range 5-3 runs backwards; write 3-5"),
        ("1,x", "expected seeds like 0,1,2 or 0-31, got 'x'"),
        ("1,2,1", "seed 1 is given twice"),
        ("0-5000", "at most 1024 seeds at once"),
        ("-1", "expected seeds like 0,1,2 or 0-31, got '-1'"),
    ],
)
def test_bad_seed_lists_are_refused(seeds, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_seeds(seeds)


def test_train_py_refuses_bad_seeds_before_anything_runs(tmp_path):
    result = run_script(*train_args(tmp_path / "no-data", tmp_path / "out", "--seeds=5-3"))
    assert result.returncode == 2 and "argument --seeds: the range 5-3 runs backwards" in result.stderr
    result = run_script(*train_args(tmp_path / "no-data", tmp_path / "out", "--seed", 1, "--seeds", "1,2"))
    assert result.returncode == 2 and "give --seed or --seeds, not both" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_seed_folder_of_the_users_stops_the_command_before_any_seed_is_written(tiny_data, tmp_path):
    (tmp_path / "many" / "seed-1").mkdir(parents=True)
    (tmp_path / "many" / "seed-1" / "README.md").write_text("mine")
    result = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "0-2", *QUICK))
    assert result.returncode == 2 and "seed-1 is not empty and holds no run of train.py" in result.stderr
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["seed-1"]  # no seed-0 begun
    assert (tmp_path / "many" / "seed-1" / "README.md").read_text() == "mine"


def test_a_push_refused_before_training_says_nothing_was_trained(tiny_data, tmp_path):
    env = {"HF_TOKEN": "", "HF_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    flags = ("--seeds", "0-1", "--push", "--repo-id", "tester/many", *QUICK)
    result = run_script(*train_args(tiny_data, tmp_path / "many", *flags), env=env)
    assert result.returncode == 3 and "Nothing was trained" in result.stderr, result.stderr
    assert "intact" not in result.stderr and not (tmp_path / "many").exists()


def test_seed_lists_and_intervals():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7] and parse_seeds(" 4 ") == [4]
    mean, half = confidence_interval([10.0, 12.0, 14.0])  # sd 2, n 3: t(2) = 4.303
    assert mean == 12.0 and half == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert math.isnan(confidence_interval([3.0])[1])
    assert confidence_interval([1.0] * 40 + [3.0] * 40)[1] == pytest.approx(
        1.96 * 1.00629 / math.sqrt(80), rel=1e-3
    )
