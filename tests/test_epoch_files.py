"""What a run writes each epoch, in-process: the history's rewrite-or-journal rule at its exact
boundaries, the weights' stamps, and the first checkpoint."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from gan_core.config import TrainConfig
from gan_core.images import to_uint8_digits
from gan_core.runs.checkpoint import RunDirectoryLost, read_resume_state, read_training_state
from gan_core.runs.layout import (
    CONFIG_FILE,
    DISCRIMINATOR_FILE,
    HISTORY_FILE,
    HISTORY_JOURNAL_FILE,
    MODEL_FILE,
    RAW_MODEL_FILE,
    REAL_IMAGES_FILE,
    sample_path,
)
from gan_core.runs.writer import (
    JOURNAL_SHARE,
    REWRITE_ROWS,
    EpochWriter,
    HistoryFiles,
    record_epoch,
    write_epoch,
    write_first_checkpoint,
    write_static_files,
)
from gan_core.training.state import build_state

CPU = torch.device("cpu")


def row(epoch: int) -> dict:
    return {"epoch": epoch, "d_loss": 1.0, "g_loss": 1.0, "d_x": 0.5, "d_g_z": 0.5, "seconds": 0.1}


def on_disk(run_dir) -> tuple[int, int]:
    """(rows in history.json, lines in the journal)."""
    history = json.loads((run_dir / HISTORY_FILE).read_text()) if (run_dir / HISTORY_FILE).exists() else None
    journal = run_dir / HISTORY_JOURNAL_FILE
    lines = journal.read_text().splitlines() if journal.exists() else []
    return (len(history["epochs"]) if history else 0), len(lines)


def test_short_runs_rewrite_history_json_every_epoch(tmp_path):
    files = HistoryFiles(tmp_path, {"config": {}, "meta": {}, "epochs": []})
    for epoch in range(1, 6):
        files.add(row(epoch), {"lr": epoch}, {"device": f"cpu{epoch}"})
        assert on_disk(tmp_path) == (epoch, 0)
    history = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert history["config"] == {"lr": 5} and history["meta"] == {"device": "cpu5"}  # the latest


def test_past_the_rewrite_limit_rows_go_to_the_journal_until_it_holds_a_tenth(tmp_path):
    # Start where the rule's two sides meet exactly: JOURNAL_SHARE * (journal + 1) == rows.
    start = 1017
    first = start + 1
    meets = (first - JOURNAL_SHARE) // (JOURNAL_SHARE - 1)  # journal lines when the two sides are equal
    assert JOURNAL_SHARE * (meets + 1) == first + meets and start > REWRITE_ROWS
    files = HistoryFiles(
        tmp_path, {"config": {}, "meta": {}, "epochs": [row(n) for n in range(1, start + 1)]}
    )
    files.rewrite()
    assert on_disk(tmp_path) == (start, 0)
    for lines in range(1, meets + 1):  # each new row is one appended line
        files.add(row(start + lines), {}, {})
        assert on_disk(tmp_path) == (start, lines)
    files.add(row(first + meets), {}, {})  # equal sides: rewritten, the journal emptied
    assert on_disk(tmp_path) == (first + meets, 0)
    files.add(row(first + meets + 1), {}, {})
    assert on_disk(tmp_path) == (first + meets, 1)
    files.finish()  # training ends with everything in history.json
    assert on_disk(tmp_path) == (first + meets + 1, 0)
    epochs = [r["epoch"] for r in json.loads((tmp_path / HISTORY_FILE).read_text())["epochs"]]
    assert epochs == list(range(1, first + meets + 2))


def test_the_journal_holds_the_rows_and_has_history_jsons_permissions(tmp_path):
    files = HistoryFiles(tmp_path, {"config": {}, "meta": {}, "epochs": [row(n) for n in range(1, 1001)]})
    files.rewrite()
    files.add(row(1001), {}, {})
    files.add(row(1002), {}, {})
    journal = tmp_path / HISTORY_JOURNAL_FILE
    assert [json.loads(line) for line in journal.read_text().splitlines()] == [row(1001), row(1002)]
    mode = lambda path: stat.S_IMODE(os.stat(path).st_mode)  # noqa: E731
    assert mode(journal) == mode(tmp_path / HISTORY_FILE)
    files.finish()
    files.finish()  # nothing in the journal: no rewrite, nothing changes
    assert on_disk(tmp_path) == (1002, 0)


def test_a_resumed_run_starts_from_one_whole_history_json(tmp_path):
    (tmp_path / HISTORY_JOURNAL_FILE).write_text(json.dumps(row(3)) + "\n")
    history = {"config": {}, "meta": {}, "epochs": [row(1), row(2), row(3)]}
    files = HistoryFiles(tmp_path, history)
    assert on_disk(tmp_path) == (3, 0) and files.journal_rows == 0
    files.add(row(4), {}, {})
    assert on_disk(tmp_path) == (4, 0) and len(history["epochs"]) == 3  # its own copy, not the caller's


def state_and_history(ema: float = 0.0):
    torch.manual_seed(0)
    config = TrainConfig(batch_size=4, hidden_size=8, latent_size=4, device="cpu", ema_decay=ema)
    history = {"config": {"batch_size": 4, "hidden_size": 8, "latent_size": 4, "recipe": config.recipe},
               "meta": {"device": "cpu"}, "epochs": []}  # fmt: skip
    return config, build_state(config, CPU), history


def metadata(path) -> dict:
    with safe_open(str(path), "pt") as weights:
        return weights.metadata()


def test_each_epochs_weights_are_stamped_with_their_epoch_and_kind(tmp_path):
    for ema, folder in ((0.0, tmp_path / "plain"), (0.9, tmp_path / "ema")):
        folder.mkdir()
        _, state, history = state_and_history(ema)
        if state.ema is not None:  # an average that differs from G, so the grid shows which one drew
            state.ema.load_state_dict({name: value * 0.5 for name, value in state.ema.state_dict().items()})
        files = HistoryFiles(folder, history)
        noise = torch.randn(64, 4)
        record = record_epoch(state, history, row(1), noise, CPU)
        write_epoch(folder, record, files)
        assert metadata(folder / DISCRIMINATOR_FILE) == {"epoch": "1"}
        if ema:
            assert metadata(folder / MODEL_FILE) == {"epoch": "1", "weights": "ema"}
            assert metadata(folder / RAW_MODEL_FILE) == {"epoch": "1"}
            published = state.ema
        else:
            assert metadata(folder / MODEL_FILE) == {"epoch": "1"} and not (folder / RAW_MODEL_FILE).exists()
            published = state.generator
        # The sample grid: 8 columns of the published generator's digits for the noise.
        grid = np.asarray(Image.open(sample_path(folder, 1)))
        assert grid.shape == (8 * 30 + 2, 8 * 30 + 2)
        with torch.no_grad():
            expected = to_uint8_digits(published(noise))
        assert np.array_equal(grid[2:30, 2:30], expected[0]) and np.array_equal(
            grid[2:30, 32:60], expected[1]
        )
        written = json.loads((folder / HISTORY_FILE).read_text())
        assert written["config"] == history["config"] and written["meta"] == history["meta"]
        saved = read_training_state(folder)
        assert saved["epoch"] == 1 and saved["history"] == {
            "config": history["config"],
            "meta": history["meta"],
        }


def test_an_epoch_without_samples_writes_no_grid(tmp_path):
    _, state, history = state_and_history()
    write_epoch(tmp_path, record_epoch(state, history, row(1), None, CPU), HistoryFiles(tmp_path, history))
    assert not sample_path(tmp_path, 1).exists() and (tmp_path / MODEL_FILE).exists()


def test_only_the_first_grid_makes_the_samples_folder(tmp_path):
    # A user who removes samples/ between two grids gets the run stopped (the write fails and the
    # writer says the folder went), not a new samples/ holding the later grids alone.
    _, state, history = state_and_history()
    files, noise = HistoryFiles(tmp_path, history), torch.randn(64, 4)
    write_epoch(tmp_path, record_epoch(state, history, row(1), noise, CPU), files)
    assert sample_path(tmp_path, 1).is_file()
    sample_path(tmp_path, 1).unlink()
    sample_path(tmp_path, 1).parent.rmdir()
    with pytest.raises(FileNotFoundError):
        write_epoch(tmp_path, record_epoch(state, history, row(2), noise, CPU), files, first_grid=False)
    assert not sample_path(tmp_path, 2).parent.exists()


@pytest.mark.parametrize(
    "removed, named",
    [
        ((1, 2, 4, 5, 6), "epoch_0001.png, epoch_0002.png, epoch_0004.png and 2 more"),
        ((2,), "epoch_0002.png"),
    ],
)
def test_grids_removed_while_the_run_trained_are_named_when_it_ends(tmp_path, removed, named):
    _, state, history = state_and_history()
    writer, noise = EpochWriter(tmp_path, history), torch.randn(64, 4)
    for epoch in range(1, 7):
        writer.submit(record_epoch(state, history, row(epoch), noise, CPU))
    writer.wait()
    for epoch in removed:  # the folder itself stays
        sample_path(tmp_path, epoch).unlink()
    with pytest.raises(RunDirectoryLost) as lost:
        writer.close()
    assert str(lost.value).startswith(
        f"sample grids of this run were removed while it trained ({named} in {tmp_path / 'samples'}); "
        "the weights of those epochs are gone"
    )
    assert sample_path(tmp_path, 3).is_file() and read_training_state(tmp_path)["epoch"] == 6


def test_the_first_checkpoint_resumes_at_epoch_0(tmp_path):
    config, state, history = state_and_history()
    write_first_checkpoint(tmp_path, state, history, CPU)
    saved = read_training_state(tmp_path)
    assert saved["epoch"] == 0 and saved["history"] == {"config": history["config"], "meta": history["meta"]}
    assert saved["cuda_rng"] is None and saved["ema"] is None
    assert read_resume_state(tmp_path, config)["history"]["epochs"] == []


def test_the_static_files_are_the_generators_sizes_and_a_grid_of_real_digits(tmp_path):
    config, _, _ = state_and_history()
    real = torch.randint(0, 256, (64, 784), dtype=torch.uint8)
    write_static_files(tmp_path, config, real)
    assert json.loads((tmp_path / CONFIG_FILE).read_text()) == {
        "latent_size": 4,
        "hidden_size": 8,
        "image_size": 784,
    }
    grid = np.asarray(Image.open(tmp_path / REAL_IMAGES_FILE))
    assert grid.shape == (8 * 30 + 2, 8 * 30 + 2)
    assert np.array_equal(grid[2:30, 32:60], real[1].reshape(28, 28).numpy())
    before = (tmp_path / REAL_IMAGES_FILE).read_bytes()
    write_static_files(tmp_path, config, torch.zeros(64, 784, dtype=torch.uint8))  # a resumed run keeps it
    assert (tmp_path / REAL_IMAGES_FILE).read_bytes() == before
