"""Atomic writes, without root: a rename that fails leaves the old file and no temporary file."""

import errno
import os

import pytest

from gan_core import run_files


@pytest.mark.parametrize("failure", ["rename", "write"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "history.json"
    target.write_text("the old, complete file\n")

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, "simulated I/O error")

    if failure == "rename":
        monkeypatch.setattr(os, "replace", fail)
    else:
        monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="simulated I/O error"):
        run_files.write_json(target, {"epochs": [1, 2, 3]})
    assert target.read_text() == "the old, complete file\n"
    assert [path.name for path in tmp_path.iterdir()] == ["history.json"]


def test_a_successful_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")
    run_files.write_json(target, {"latent_size": 64})
    assert target.read_text() == '{\n  "latent_size": 64\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["config.json"]


def run_files_of(run_dir):
    """Every file of a run, by name: tensors for weights, parsed JSON (minus timings), raw bytes else."""
    import json
    import re

    from safetensors.torch import load_file

    files = {}
    for path in sorted(run_dir.rglob("*")):
        name = path.relative_to(run_dir).as_posix()
        if path.suffix == ".safetensors":
            files[name] = load_file(path)
        elif name == "history.json":
            history = json.loads(path.read_text())
            for row in history["epochs"]:
                row.pop("seconds")
            history["meta"].pop("training_seconds"), history["meta"].pop("setup_seconds")
            files[name] = history
        elif name == "README.md":  # the card, which says how long training took
            files[name] = re.sub(rb" in \d+ s of training", b"", path.read_bytes())
        elif path.is_file() and name != "training_state.pt":
            files[name] = path.read_bytes()
    return files


@pytest.mark.parametrize(
    "recipe, extra", [("tutorial", {}), ("improved", {"ema_decay": 0.9, "sample_every": 2})]
)
def test_a_run_stopped_and_resumed_in_process_is_the_uninterrupted_run(tiny_data, tmp_path, recipe, extra):
    # Training in process (as gan_core.fit is used from Python): the same files, byte for byte.
    # (--lr-decay is left out: its schedule follows --epochs, which this resume changes on purpose.)
    from dataclasses import replace

    import torch

    from gan_core.config import TrainConfig
    from gan_core.fit import fit
    from gan_core.run_files import read_training_state

    quiet = lambda *_: None
    base = TrainConfig(epochs=3, batch_size=40, data_dir=str(tiny_data), recipe=recipe, **extra)
    straight = fit(replace(base, out=str(tmp_path / "straight")), log=quiet, progress=False)
    halves = replace(base, epochs=2, out=str(tmp_path / "halves"))
    fit(halves, log=quiet, progress=False)
    assert read_training_state(halves.out)["epoch"] == 2
    resumed = fit(replace(halves, epochs=3), resume=True, log=quiet, progress=False)

    expected, got = run_files_of(straight), run_files_of(resumed)
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        if isinstance(value, dict) and name.endswith(".safetensors"):
            assert all(torch.equal(value[key], got[name][key]) for key in value), name
        else:
            assert got[name] == value, name
    assert len(expected["history.json"]["epochs"]) == 3
    state = read_training_state(resumed)
    assert state["epoch"] == 3
