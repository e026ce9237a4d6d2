"""What a run writes as it trains: each epoch's files on a background thread, and the summary
(plot and model card) when it stops."""

from __future__ import annotations

import copy
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import torch
from safetensors.torch import save

from gan_core.config import TrainConfig
from gan_core.data import to_model_range
from gan_core.images import digit_grid, png_bytes
from gan_core.io import FILE_MODE, atomic_write_bytes, atomic_write_text, write_json
from gan_core.runs.card import model_card
from gan_core.runs.checkpoint import (
    RunDirectoryLost,
    folder_identity,
    lost_run_directory,
    write_training_state,
)
from gan_core.runs.history import EpochRecord, History, add_epoch
from gan_core.runs.layout import (
    CARD_FILE,
    CONFIG_FILE,
    DISCRIMINATOR_FILE,
    HISTORY_FILE,
    HISTORY_JOURNAL_FILE,
    MODEL_FILE,
    RAW_MODEL_FILE,
    REAL_IMAGES_FILE,
    SAMPLES_DIR,
    SCORES_FILE,
    sample_path,
)
from gan_core.runs.plots import scores_png


class RunState(Protocol):
    """What the files need of a run's training state (training.state.TrainState): the generator it
    publishes and the training part of its checkpoint. runs/ sits below training/ and names no class
    of it."""

    def published(self) -> torch.nn.Module: ...

    def state_dict(self) -> dict: ...


def write_static_files(run_dir: Path, config: TrainConfig, real_images: torch.Tensor) -> None:
    """config.json (the generator's init args) and one grid of real images to compare against."""
    write_json(run_dir / CONFIG_FILE, config.model.to_dict(), make_folders=False)
    if not (run_dir / REAL_IMAGES_FILE).exists():
        atomic_write_bytes(
            run_dir / REAL_IMAGES_FILE,
            png_bytes(digit_grid(to_model_range(real_images.cpu()), columns=8)),
            make_folders=False,
        )


def record_epoch(
    state: RunState,
    history: History,
    record: EpochRecord,
    sample_noise: torch.Tensor | None,
    device: torch.device,
) -> dict:
    """Add the epoch to the history and copy everything its files need to the CPU, so that the
    files can be written on another thread while the device trains the next epoch. Only the new
    row is copied, with the config and meta: a copy of every row would grow with the run."""
    add_epoch(history, record)
    samples = None
    if sample_noise is not None:
        with torch.no_grad():  # no dropout or batch norm: no eval() needed
            samples = state.published()(sample_noise).cpu()
    return {
        "epoch": record["epoch"],
        "samples": samples,
        "row": copy.deepcopy(record),
        "config": copy.deepcopy(history["config"]),
        "meta": copy.deepcopy(history["meta"]),
        "resume": resume_state(state, record["epoch"], device),
    }


def resume_state(state: RunState, epoch: int, device: torch.device) -> dict:
    """Everything --resume needs to go on after `epoch` as if never stopped, copied to the CPU."""
    return _cpu_copy(
        {
            "epoch": epoch,
            **state.state_dict(),
            "cpu_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        }
    )


def write_first_checkpoint(run_dir: Path, state: RunState, history: History, device: torch.device) -> None:
    """The state before epoch 1: from the first file a run writes on, --resume can always go on."""
    write_training_state(run_dir, {**resume_state(state, 0, device), "history": _config_and_meta(history)})


def _config_and_meta(history: History) -> dict:
    """What training_state.pt keeps of the history: its rows are in history.json and the journal."""
    return {"config": copy.deepcopy(history["config"]), "meta": copy.deepcopy(history["meta"])}


def _cpu_copy(value):
    """Deep copy with every tensor cloned to the CPU: training goes on changing the originals."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(item) for item in value)
    return value


# While history.json holds at most this many rows it is rewritten every epoch (a few ms); past it,
# only now and then, so an epoch's files cost the same however long the run has been
# (benchmarks/checkpoint_cost.py).
REWRITE_ROWS = 1000
JOURNAL_SHARE = 10  # ... and past it, rewritten when the journal holds 1/JOURNAL_SHARE of the rows


class HistoryFiles:
    """history.json and its journal. Each epoch's row goes to history.json, rewritten whole and
    atomically, or, once the run is long, as one appended line of history_journal.jsonl; a rewrite
    empties the journal, and training always ends with one. --resume reads both
    (run_files.resumed_history), so no row is lost whichever file a crash interrupts."""

    def __init__(self, run_dir: Path, history: History):
        self.run_dir = run_dir
        self.history = copy.deepcopy(history)  # once per run: the writer's own copy, grown row by row
        self.journal_rows = 0
        if (run_dir / HISTORY_JOURNAL_FILE).exists():  # resumed: start from one whole history.json
            self.rewrite()

    def add(self, row: EpochRecord, config: dict, meta: dict) -> None:
        self.history["config"], self.history["meta"] = config, meta
        self.history["epochs"].append(row)
        rows = len(self.history["epochs"])
        if rows <= REWRITE_ROWS or JOURNAL_SHARE * (self.journal_rows + 1) >= rows:
            self.rewrite()
        else:
            self._append_to_journal(row)

    def rewrite(self) -> None:
        write_json(self.run_dir / HISTORY_FILE, self.history, make_folders=False)
        (self.run_dir / HISTORY_JOURNAL_FILE).unlink(missing_ok=True)  # its rows are all in history.json
        self.journal_rows = 0

    def finish(self) -> None:
        if self.journal_rows:
            self.rewrite()

    def _append_to_journal(self, row: EpochRecord) -> None:
        # On disk before training_state.pt names this epoch; a line torn by a crash belongs to an
        # epoch that training_state.pt does not hold yet, and resume ignores it.
        handle = os.open(
            self.run_dir / HISTORY_JOURNAL_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE
        )
        with os.fdopen(handle, "a", encoding="utf-8") as journal:
            journal.write(json.dumps(row, allow_nan=False) + "\n")
            journal.flush()
            os.fsync(journal.fileno())
        self.journal_rows += 1


def write_epoch(run_dir: Path, record: dict, history_files: HistoryFiles, first_grid: bool = True) -> None:
    """The epoch's files. training_state.pt goes last: until it is renamed into place,
    --resume continues from the previous epoch. No write makes the run directory again, and only a
    run's first grid makes its samples folder: one removed later stays removed (the write fails)."""
    epoch, resume = record["epoch"], record["resume"]
    write = lambda path, data: atomic_write_bytes(path, data, make_folders=False)
    if record["samples"] is not None:
        if first_grid:
            (run_dir / SAMPLES_DIR).mkdir(exist_ok=True)  # not its parents: a removed run stays removed
        write(sample_path(run_dir, epoch), png_bytes(digit_grid(record["samples"], columns=8)))
    stamp = {"epoch": str(epoch)}
    if resume["ema"] is not None:
        write(run_dir / MODEL_FILE, save(resume["ema"], metadata={**stamp, "weights": "ema"}))
        write(run_dir / RAW_MODEL_FILE, save(resume["generator"], metadata=stamp))
    else:
        write(run_dir / MODEL_FILE, save(resume["generator"], metadata=stamp))
    write(run_dir / DISCRIMINATOR_FILE, save(resume["discriminator"], metadata=stamp))
    history_files.add(record["row"], record["config"], record["meta"])
    write_training_state(run_dir, {**resume, "history": {"config": record["config"], "meta": record["meta"]}})


ONCE_FILES = (CONFIG_FILE, REAL_IMAGES_FILE)  # written as a run starts, the same ever after


class EpochWriter:
    """Writes each epoch's files on one background thread, in order, at most one epoch behind.

    A write error (full disk, read-only folder) surfaces at the next epoch or at close();
    close() also waits for the last write, so Ctrl-C still leaves the finished epoch on disk.

    Before each epoch's files it looks at the folder: a run directory removed or replaced since
    the run began, or its samples folder, stops the run (RunDirectoryLost) rather than leave a
    folder without the earlier files; config.json or real_images.png removed is written again
    (both are the same all run long). close() names the grids of this run that were removed.
    """

    def __init__(self, run_dir: str | Path, history: History):
        self.run_dir = Path(run_dir)
        self.folder = folder_identity(self.run_dir)  # the folder the run claimed and wrote into
        self.samples = folder_identity(self.run_dir / SAMPLES_DIR)  # None until the first grid
        self.once = {name: (self.run_dir / name).read_bytes() for name in ONCE_FILES
                     if (self.run_dir / name).is_file()}  # fmt: skip
        self.grids: list[Path] = []  # written by this writer
        self.history_files = HistoryFiles(self.run_dir, history)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoch-writer")
        self.pending = None
        self.failed = False
        self.closed = False

    def submit(self, record: dict) -> None:
        self.wait()
        self.pending = self.pool.submit(self._write, record)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            try:
                pending.result()
            except BaseException:
                self.failed = True
                raise

    def check_folder(self) -> None:
        """Stop where the run's folder (or its samples folder) is gone or another one; write back
        a removed config.json or real_images.png."""
        if folder_identity(self.run_dir) != self.folder:
            raise lost_run_directory(self.run_dir)
        if self.samples is not None and folder_identity(self.run_dir / SAMPLES_DIR) != self.samples:
            raise RunDirectoryLost(
                f"{self.run_dir / SAMPLES_DIR} was removed or replaced while the run trained, and with it "
                f"the sample grids of the earlier epochs, which cannot be drawn again; the checkpoint of "
                f"the last finished epoch in {self.run_dir} is kept"
            )
        for name, data in self.once.items():
            if not (self.run_dir / name).exists():
                atomic_write_bytes(self.run_dir / name, data, make_folders=False)

    def _write(self, record: dict) -> None:
        self.check_folder()
        try:
            # Removed between the check above and this write, the samples folder is not made again.
            write_epoch(self.run_dir, record, self.history_files, first_grid=self.samples is None)
        except FileNotFoundError:
            self.check_folder()  # removed while these files were written: say so
            raise
        if record["samples"] is not None:
            self.grids.append(sample_path(self.run_dir, record["epoch"]))
            self.samples = self.samples or folder_identity(self.run_dir / SAMPLES_DIR)

    def close(self) -> None:
        """Wait for the last epoch's files and check the folder once more (once: it is called again
        in `finally` blocks)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.wait()
            if self.failed:  # said already: nothing more is written to, or checked in, the folder
                return
            self.check_folder()
            self.history_files.finish()
            missing = [grid.name for grid in self.grids if not grid.is_file()]
            if missing:
                shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                raise RunDirectoryLost(
                    f"sample grids of this run were removed while it trained ({shown} in "
                    f"{self.run_dir / SAMPLES_DIR}); the weights of those epochs are gone, so they cannot "
                    f"be drawn again. The run is otherwise complete and resumable"
                )
        finally:
            self.pool.shutdown(wait=True)


def write_summary(run_dir: Path, history: History) -> None:
    """scores.png and the model card: written when training stops, not every epoch (a plot
    costs more than a whole epoch on a GPU)."""
    if history["epochs"]:
        atomic_write_bytes(run_dir / SCORES_FILE, scores_png(history), make_folders=False)
    atomic_write_text(run_dir / CARD_FILE, model_card(history, run_dir), make_folders=False)
