"""Atomic writes, without root: a rename that fails leaves the old file and no temporary file."""

import errno
import json
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


def test_history_rows_survive_a_crash_between_history_json_and_its_journal(tmp_path, monkeypatch):
    # A long run keeps its newest rows in the journal; resume joins both files at the saved epoch.
    from gan_core import epoch_files
    from gan_core.history import new_history
    from gan_core.run_files import resumed_history

    monkeypatch.setattr(epoch_files, "REWRITE_ROWS", 2)
    monkeypatch.setattr(epoch_files, "JOURNAL_SHARE", 1)  # rows 3 to 6 all go to the journal
    history = new_history({"seed": 0}, {"training_seconds": 0.0})
    files = epoch_files.HistoryFiles(tmp_path, history)
    rows = [
        {"epoch": n, "d_loss": n / 10, "g_loss": 1.0, "d_x": 0.5, "d_g_z": 0.5, "seconds": 0.1}
        for n in (1, 2, 3, 4, 5, 6)
    ]
    for row in rows:
        files.add(row, history["config"], {"training_seconds": row["epoch"] / 10})
    on_disk = json.loads((tmp_path / "history.json").read_text())
    assert [row["epoch"] for row in on_disk["epochs"]] == [1, 2]
    journal = tmp_path / "history_journal.jsonl"
    assert [json.loads(line)["epoch"] for line in journal.read_text().splitlines()] == [3, 4, 5, 6]
    with journal.open("a") as torn:  # the line a crash cut short: an epoch with no checkpoint yet
        torn.write('{"epoch": 7, "d_lo')

    state = {"epoch": 5, "history": {"config": {"seed": 0}, "meta": {"training_seconds": 0.5}}}
    resumed = resumed_history(tmp_path, state)
    assert resumed["epochs"] == rows[:5] and resumed["meta"] == {"training_seconds": 0.5}

    # Resuming starts from one whole history.json and an empty journal.
    epoch_files.HistoryFiles(tmp_path, resumed)
    assert json.loads((tmp_path / "history.json").read_text())["epochs"] == rows[:5]
    assert not journal.exists()

    # A row that is in neither file stops the resume with a message naming both.
    (tmp_path / "history.json").write_text(json.dumps({"epochs": rows[:3]}))
    with pytest.raises(ValueError, match="history_journal.jsonl.* does not hold epochs 1 to 5"):
        resumed_history(tmp_path, state)


def test_training_ends_with_the_whole_history_in_history_json(tiny_data, tmp_path, monkeypatch):
    from gan_core import epoch_files
    from gan_core.config import TrainConfig
    from gan_core.fit import fit

    monkeypatch.setattr(epoch_files, "REWRITE_ROWS", 1)
    monkeypatch.setattr(epoch_files, "JOURNAL_SHARE", 1)
    out = fit(TrainConfig(epochs=4, batch_size=100, data_dir=str(tiny_data), out=str(tmp_path / "run")),
              log=lambda *_: None, progress=False)  # fmt: skip
    assert [row["epoch"] for row in json.loads((out / "history.json").read_text())["epochs"]] == [1, 2, 3, 4]
    assert not (out / "history_journal.jsonl").exists()
