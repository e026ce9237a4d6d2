"""A run's weights and checkpoint on disk, and the state `--resume` continues from.

Every file is written atomically (gan_core/io.py). training_state.pt is written last and alone
decides where `--resume` continues: it holds both networks, both optimizers, the RNG state, and the
history's config and meta of the last finished epoch. The history's rows are in history.json and its
journal (see writer.HistoryFiles), so the file keeps one size however long the run.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from gan_core.config import TrainConfig
from gan_core.io import atomic_write_bytes, check_regular
from gan_core.messages import first_line
from gan_core.runs.layout import HISTORY_FILE, HISTORY_JOURNAL_FILE, STATE_FILE


class RunDirectoryUnwritable(RuntimeError):
    """The run directory refused a write (read-only, full disk); the last good checkpoint is kept."""


class RunDirectoryLost(RunDirectoryUnwritable):
    """The run directory, or a file of it that cannot be written again, was removed or replaced
    while the run trained."""


def lost_run_directory(run_dir: str | Path) -> RunDirectoryLost:
    return RunDirectoryLost(
        f"{run_dir} was removed or replaced while the run trained in it; nothing is written there again, "
        f"since the run's earlier files (config.json, checkpoints, grids) went with it: train the run again"
    )


def folder_identity(path: str | Path) -> tuple[int, int] | None:
    """Which folder `path` names now (device and inode), or None where nothing is there: a folder
    removed and made again under the same name is another folder."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def state_dict_bytes(module: torch.nn.Module, metadata: dict[str, str] | None = None) -> bytes:
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    return save(tensors, metadata=metadata)


def write_weights(path: str | Path, module: torch.nn.Module, metadata: dict[str, str] | None = None) -> None:
    atomic_write_bytes(path, state_dict_bytes(module, metadata))


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a truncated or foreign file is a clear ValueError."""
    path = check_regular(path)  # missing, a FIFO or a device: a ValueError, not a wait
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own SafetensorError
        raise ValueError(f"{path} is not a readable safetensors file ({error})") from None


def write_training_state(run_dir: str | Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(run_dir) / STATE_FILE, buffer.getvalue(), make_folders=False)


# What training_state.pt must hold, and of which type, to be resumed from.
STATE_TYPES = {"epoch": int, "generator": dict, "discriminator": dict, "g_optimizer": dict,
               "d_optimizer": dict, "cpu_rng": torch.Tensor, "history": dict}  # fmt: skip


def read_training_state(run_dir: str | Path) -> dict:
    """weights_only=True: a resume file can hold tensors and plain containers, never code."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise ValueError(f"nothing to resume: {path} does not exist (train without --resume first)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path} is damaged and cannot be resumed from ({first_line(error)})") from None
    problem = _state_problem(state)
    if problem:
        raise ValueError(
            f"{path} cannot be resumed from: {problem} (damaged, edited or from another version)"
        )
    return state


def _state_problem(state) -> str | None:
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not the training state"
    for key, kind in STATE_TYPES.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            return f"{key!r} is missing or not a {kind.__name__}"
    history = state["history"]
    if not isinstance(history.get("config"), dict) or not isinstance(history.get("meta"), dict):
        return "its history has no config or meta"
    # Written before the rows moved out: the whole history, which must reach the saved epoch.
    if "epochs" in history and (
        not isinstance(history["epochs"], list) or len(history["epochs"]) != state["epoch"]
    ):
        return f"its history does not hold epochs 1 to {state['epoch']}"
    return None


def saved_epoch(run_dir: str | Path) -> int:
    """The epoch --resume would continue after (0 when there is none or it cannot be read)."""
    try:
        return int(read_training_state(run_dir)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def read_resume_state(run_dir: str | Path, config: TrainConfig) -> dict:
    """Load training_state.pt and check the flags agree with the run being resumed; its
    "history" is then the whole history up to the saved epoch."""
    state = read_training_state(run_dir)
    differences = config.resume_differences(state.get("history", {}).get("config", {}))
    if differences:
        raise ValueError(f"cannot resume {Path(run_dir)}: " + "; ".join(differences))
    state["history"] = resumed_history(Path(run_dir), state)
    return state


def resumed_history(run_dir: Path, state: dict) -> dict:
    """The history up to the saved epoch: the config and meta from training_state.pt, the rows
    from history.json and the journal (a row in both is the same row; rows past the saved epoch
    were written by an epoch that did not finish its checkpoint)."""
    saved, epoch = state["history"], state["epoch"]
    if "epochs" in saved:  # a state written before the rows moved out holds them all
        return saved
    rows = {}
    for row in _history_rows(run_dir / HISTORY_FILE) + _journal_rows(run_dir / HISTORY_JOURNAL_FILE):
        if isinstance(row, dict) and isinstance(row.get("epoch"), int):
            rows[row["epoch"]] = row
    if any(number not in rows for number in range(1, epoch + 1)):
        raise ValueError(
            f"{run_dir / HISTORY_FILE} (with {HISTORY_JOURNAL_FILE}) does not hold epochs 1 to {epoch} "
            f"that {run_dir / STATE_FILE} has finished, so the run cannot be resumed"
        )
    return {
        "config": saved["config"],
        "meta": saved["meta"],
        "epochs": [rows[n] for n in range(1, epoch + 1)],
    }


def _history_rows(path: Path) -> list:
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).get("epochs", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path} is damaged, so the run cannot be resumed ({first_line(error)})") from None
    return rows if isinstance(rows, list) else []


def _journal_rows(path: Path) -> list:
    """The journal's complete lines; a last line torn by a crash is skipped."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def load_resume_state(state, prior: dict, device: torch.device, path: Path) -> None:
    """Put a TrainState (see training/state.py) back where training_state.pt left it."""
    try:
        _load_resume_state(state, prior, device)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"{path} does not fit this run and cannot be resumed from ({first_line(error)})"
        ) from None


def _load_resume_state(state, prior: dict, device: torch.device) -> None:
    state.load_state_dict(prior)  # TrainState's keys, as its state_dict() wrote them
    torch.set_rng_state(prior["cpu_rng"])
    if device.type == "cuda" and prior.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(prior["cuda_rng"])


def unwritable(error: OSError, out: str | Path, kept: str | None = None) -> RunDirectoryUnwritable:
    """A write into `out` that failed, said with the file (or `out`, where the OS names none, as for
    a full disk) and with what is kept: by default, what the run directory `out` still holds."""
    if kept is None and isinstance(error, FileNotFoundError) and not Path(out).is_dir():  # removed meanwhile
        return lost_run_directory(out)
    kept = kept or kept_checkpoint(Path(out), saved_epoch(out))
    path = Path(error.filename2 or error.filename or out)  # a rename's error names its target second
    temporary = re.fullmatch(r"\.(.+)\.\w{8}\.tmp", path.name)  # what atomic_write_bytes writes first
    path = path.with_name(temporary.group(1)) if temporary else path
    return RunDirectoryUnwritable(f"cannot write {path}: {error.strerror or error}; {kept}")


def kept_checkpoint(out: Path, epoch: int) -> str:
    return f"the checkpoint of epoch {epoch} in {out} is kept" if epoch else "no epoch was saved"
