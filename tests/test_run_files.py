"""The run directory's files, in process: atomic writes (without root: a rename that fails leaves the
old file and no temporary file), resume, the history journal, EMA and the decaying rate."""

import errno
import json
import os
import re
from pathlib import Path

import pytest
import torch

from gan_core import io as file_io
from gan_core.runs.checkpoint import read_training_state


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
        file_io.write_json(target, {"epochs": [1, 2, 3]})
    assert target.read_text() == "the old, complete file\n"
    assert [path.name for path in tmp_path.iterdir()] == ["history.json"]


def test_a_successful_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")
    file_io.write_json(target, {"latent_size": 64})
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
    # Training in process (as gan_core.training.fit is used from Python): the same files, byte for byte.
    # (--lr-decay is left out: its schedule follows --epochs, which this resume changes on purpose.)
    from dataclasses import replace

    import torch

    from gan_core.config import TrainConfig
    from gan_core.runs.checkpoint import read_training_state
    from gan_core.training.fit import fit

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
    from PIL import Image

    grid = Image.open(straight / "samples" / "epoch_0002.png")  # 64 fixed-noise digits, 8 by 8
    assert grid.size == (8 * 30 + 2, 8 * 30 + 2)
    state = read_training_state(resumed)
    assert state["epoch"] == 3


def test_history_rows_survive_a_crash_between_history_json_and_its_journal(tmp_path, monkeypatch):
    # A long run keeps its newest rows in the journal; resume joins both files at the saved epoch.
    from gan_core.runs import writer as epoch_files
    from gan_core.runs.checkpoint import resumed_history
    from gan_core.runs.history import new_history

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
    from gan_core.config import TrainConfig
    from gan_core.runs import writer as epoch_files
    from gan_core.training.fit import fit

    monkeypatch.setattr(epoch_files, "REWRITE_ROWS", 1)
    monkeypatch.setattr(epoch_files, "JOURNAL_SHARE", 1)
    out = fit(TrainConfig(epochs=4, batch_size=100, data_dir=str(tiny_data), out=str(tmp_path / "run")),
              log=lambda *_: None, progress=False)  # fmt: skip
    assert [row["epoch"] for row in json.loads((out / "history.json").read_text())["epochs"]] == [1, 2, 3, 4]
    assert not (out / "history_journal.jsonl").exists()


def test_with_ema_the_published_weights_are_the_average_and_the_decayed_rate_is_used(tiny_data, tmp_path):
    from safetensors.torch import load_file

    from gan_core.config import TrainConfig
    from gan_core.training.fit import fit

    config = TrainConfig(epochs=4, batch_size=100, data_dir=str(tiny_data), out=str(tmp_path / "run"),
                         recipe="tutorial", ema_decay=0.9, lr_decay="linear")  # fmt: skip
    out = fit(config, log=lambda *_: None, progress=False)
    state = read_training_state(out)
    published, raw = load_file(out / "model.safetensors"), load_file(out / "generator_raw.safetensors")
    assert all(torch.equal(published[name], state["ema"][name]) for name in published)
    assert all(torch.equal(raw[name], state["generator"][name]) for name in raw)
    assert not all(torch.equal(published[name], raw[name]) for name in raw)
    # The rate of each epoch is recorded, and the optimisers trained the last epoch with it.
    rates = [row["lr"] for row in json.loads((out / "history.json").read_text())["epochs"]]
    assert rates == pytest.approx([config.lr_at(epoch) for epoch in (1, 2, 3, 4)]) and rates[-1] < rates[0]
    for optimiser in ("g_optimizer", "d_optimizer"):
        assert float(state[optimiser]["param_groups"][0]["lr"]) == pytest.approx(rates[-1])


def test_an_atomic_write_renames_a_hidden_temporary_file_in_the_same_folder(tmp_path, monkeypatch):
    # The same folder, so the rename is atomic (one file system); a name the clean-up recognises.
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renames.append((src, dst)), real_replace(src, dst)))
    target = tmp_path / "new" / "deeper" / "file.json"  # folders are created as needed
    file_io.atomic_write_bytes(target, b"data")
    ((source, destination),) = renames
    assert Path(source).parent == target.parent and Path(destination) == target
    assert re.fullmatch(r"\.file\.json\.[^/]+\.tmp", Path(source).name)
    assert target.read_bytes() == b"data" and os.listdir(target.parent) == ["file.json"]


def test_json_files_refuse_nan_instead_of_writing_what_json_readers_reject(tmp_path):
    with pytest.raises(ValueError):
        file_io.write_json(tmp_path / "x.json", {"d_loss": float("nan")})
    assert not (tmp_path / "x.json").exists()
    assert file_io.json_text({"a": 1}) == '{\n  "a": 1\n}\n'


def test_weights_are_written_with_their_metadata_and_read_back_exactly(tmp_path):
    from safetensors import safe_open

    from gan_core.models import Generator
    from gan_core.runs.checkpoint import read_weights, write_weights

    generator = Generator(latent_size=4, hidden_size=8)
    write_weights(tmp_path / "g.safetensors", generator, {"epoch": "7"})
    with safe_open(str(tmp_path / "g.safetensors"), "pt") as weights:
        assert weights.metadata() == {"epoch": "7"}
    loaded = read_weights(tmp_path / "g.safetensors")
    assert loaded.keys() == generator.state_dict().keys()
    assert all(torch.equal(loaded[name], value) for name, value in generator.state_dict().items())
    write_weights(tmp_path / "plain.safetensors", generator)
    with safe_open(str(tmp_path / "plain.safetensors"), "pt") as weights:
        assert not weights.metadata()


def test_a_failed_write_is_one_message_naming_the_file_and_what_the_run_still_holds(tiny_data, tmp_path):
    from gan_core.runs.checkpoint import RunDirectoryLost, RunDirectoryUnwritable, unwritable
    from tests.helpers import run_script, train_args

    empty = tmp_path / "empty"
    empty.mkdir()
    full = OSError(errno.ENOSPC, "No space left on device")  # a full disk names no file
    error = unwritable(full, empty)
    assert isinstance(error, RunDirectoryUnwritable)
    assert str(error) == f"cannot write {empty}: No space left on device; no epoch was saved"
    # A run with a checkpoint: that is what is kept. A failed rename names its target, and the
    # hidden temporary file atomic writes go through is named as the file it was to become.
    run = tmp_path / "run"
    assert run_script(*train_args(tiny_data, run, "--epochs", "2", "--sample-every", "50")).returncode == 0
    renamed = OSError(
        errno.EROFS, "Read-only file system", str(run / ".x.tmp"), None, str(run / "history.json")
    )
    assert str(unwritable(renamed, run)) == (
        f"cannot write {run / 'history.json'}: Read-only file system; "
        f"the checkpoint of epoch 2 in {run} is kept"
    )
    temporary = OSError(errno.EIO, "Input/output error", str(run / ".model.safetensors.a1b2c3d4.tmp"))
    assert str(unwritable(temporary, run)).startswith(
        f"cannot write {run / 'model.safetensors'}: Input/output"
    )
    assert str(unwritable(full, run, kept="the seed's own words")).endswith("; the seed's own words")
    # A file not found where the folder itself is gone: the folder was removed, not the disk full.
    lost = unwritable(
        FileNotFoundError(errno.ENOENT, "No such file", str(tmp_path / "gone" / "x")), tmp_path / "gone"
    )
    assert isinstance(lost, RunDirectoryLost) and str(lost).startswith(
        f"{tmp_path / 'gone'} was removed or replaced"
    )
    missing_file = unwritable(
        FileNotFoundError(errno.ENOENT, "No such file or directory", str(run / "a")), run
    )
    assert isinstance(missing_file, RunDirectoryUnwritable)


def test_bounded_reads_take_regular_files_up_to_their_limit_and_name_what_they_refuse(tmp_path):
    exact = tmp_path / "exact.bin"
    exact.write_bytes(b"x" * 100)
    assert file_io.read_bounded(exact, 100) == b"x" * 100  # the limit itself is allowed
    with pytest.raises(ValueError, match=r"exact.bin is 100 bytes, more than the 99 allowed"):
        file_io.read_bounded(exact, 99)
    with pytest.raises(ValueError, match=r"nowhere.bin is missing$"):
        file_io.read_bounded(tmp_path / "nowhere.bin", 100)
    link = tmp_path / "link.bin"
    link.symlink_to(exact)
    assert file_io.read_bounded(link, 100) == b"x" * 100  # followed where links are allowed ...
    with pytest.raises(ValueError, match=r"link.bin cannot be read \(a link\)$"):
        file_io.read_bounded(link, 100, follow_links=False)  # ... and named where they are not
    loop = tmp_path / "loop.bin"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match=r"loop.bin cannot be read \(Too many levels of symbolic links\)"):
        file_io.read_bounded(loop, 100)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # open() of a FIFO waits for a writer unless it does not block: this returns
    for not_a_file in (fifo, tmp_path):
        with pytest.raises(ValueError, match=r"is not a regular file$"):
            file_io.read_bounded(not_a_file, 100)
    assert file_io.check_regular(exact) == exact


def test_images_are_decoded_only_at_their_size_and_in_the_mode_asked_for():
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("L", (28, 30), 200).save(buffer, format="PNG")
    with pytest.raises(ValueError, match=r"^grid.png is 28x30 pixels, not 30x28$"):
        file_io.decode_image(buffer.getvalue(), "grid.png", (30, 28))
    image = file_io.decode_image(buffer.getvalue(), "grid.png", (28, 30), mode="RGB")
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (200, 200, 200)
    with pytest.raises(ValueError, match=r"^cut.png is not a readable image \(\w+\)$"):
        file_io.decode_image(buffer.getvalue()[:40], "cut.png", (28, 30))


def test_json_and_text_writes_make_their_folders_unless_told_not_to(tmp_path):
    file_io.write_json(tmp_path / "a" / "b" / "c.json", {"x": 1})
    assert json.loads((tmp_path / "a" / "b" / "c.json").read_text()) == {"x": 1}
    file_io.atomic_write_text(tmp_path / "d" / "e.txt", "é")
    assert (tmp_path / "d" / "e.txt").read_bytes() == "é".encode()
    for write in (file_io.write_json, file_io.atomic_write_text):
        with pytest.raises(FileNotFoundError):
            write(tmp_path / "not-made" / "f", {} if write is file_io.write_json else "", make_folders=False)
    assert not (tmp_path / "not-made").exists()
