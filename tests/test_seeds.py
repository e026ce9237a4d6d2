"""train.py --seeds: one complete run per seed, each the run its seed gives alone, and the
quality figures over the seeds."""

from __future__ import annotations

import json
import math
import re

import pytest
from safetensors.torch import load_file

from gan_core.seeds import confidence_interval, parse_seeds
from tests.helpers import run_script, train_args

QUICK = ("--epochs", 2, "--batch-size", 50, "--subset", 100)


def rows_without_timing(run_dir):
    """The per-epoch means (quality figures aside: recording them does not change the training)."""
    rows = json.loads((run_dir / "history.json").read_text())["epochs"]
    return [{key: value for key, value in row.items() if key not in ("seconds", "quality")} for row in rows]


def assert_same_run(one, other):
    assert rows_without_timing(one) == rows_without_timing(other)
    for name in ("model.safetensors", "discriminator.safetensors"):
        first, second = load_file(one / name), load_file(other / name)
        assert first.keys() == second.keys() and all((first[k] == second[k]).all() for k in first)
    assert (one / "samples" / "epoch_0002.png").read_bytes() == (
        other / "samples" / "epoch_0002.png"
    ).read_bytes()


def test_each_seeds_run_is_the_run_that_seed_gives_alone(tiny_data, tmp_path):
    together = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5", "--eval-every", 2,
                                      "--eval-samples", 50, *QUICK))  # fmt: skip
    assert together.returncode == 0, together.stderr
    # The quality figures over the seeds: each one's mean and 95% interval, from the runs' histories.
    histories = [json.loads((tmp_path / "many" / f"seed-{s}" / "history.json").read_text()) for s in (3, 5)]
    mean, half = confidence_interval([history["epochs"][-1]["quality"]["mnist_fd"] for history in histories])
    assert "quality over 2 seeds (mean ± 95% interval):" in together.stdout
    assert f"MNIST-FD           {mean:.2f} ± {half:.2f}" in together.stdout
    alone = run_script(*train_args(tiny_data, tmp_path / "alone", "--seed", 5, *QUICK))
    assert alone.returncode == 0, alone.stderr
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["seed-3", "seed-5"]
    assert_same_run(tmp_path / "many" / "seed-5", tmp_path / "alone")
    assert rows_without_timing(tmp_path / "many" / "seed-3") != rows_without_timing(tmp_path / "alone")
    assert json.loads((tmp_path / "many" / "seed-3" / "history.json").read_text())["config"]["seed"] == 3
    # --resume goes on with the seeds already there and starts the ones not yet begun.
    more = run_script(*train_args(tiny_data, tmp_path / "many", "--seeds", "3,5,8", "--resume", *QUICK))
    assert more.returncode == 0, more.stderr
    assert "seed-3 already has 2 epochs" in more.stdout and "seed-5 already has 2 epochs" in more.stdout
    started = json.loads((tmp_path / "many" / "seed-8" / "history.json").read_text())
    assert started["config"]["seed"] == 8 and len(started["epochs"]) == 2


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


def test_seed_lists_and_intervals():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7] and parse_seeds(" 4 ") == [4]
    mean, half = confidence_interval([10.0, 12.0, 14.0])  # sd 2, n 3: t(2) = 4.303
    assert mean == 12.0 and half == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert math.isnan(confidence_interval([3.0])[1])
    assert confidence_interval([1.0] * 40 + [3.0] * 40)[1] == pytest.approx(
        1.96 * 1.00629 / math.sqrt(80), rel=1e-3
    )
