"""Which folder a run may write into, and one process at a time in it.

A fresh run writes only into a new or empty folder; a folder holding a run is continued with
--resume; any other folder (the user's own files) is refused before anything is written. While a
process trains, resumes or pushes a run, it holds an OS lock on the folder until its command ends;
the OS releases it when the process ends however it ends, so a killed run never blocks the next one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
from pathlib import Path

from gan_core.runs.layout import MODEL_FILE, RUN_FILES, SAMPLES_DIR, STATE_FILE

# The temporary names run_files.atomic_write_bytes gives our files: ".<name>.<8 random characters>.tmp"
TEMPORARY_FILE = re.compile(
    r"^\.(" + "|".join(map(re.escape, RUN_FILES)) + r"|epoch_\d{4,}\.png)\.[a-z0-9_]{8}\.tmp$"
)
_held: dict[str, int] = {}  # folder -> the descriptor whose lock this process holds


class RunDirectoryBusy(RuntimeError):
    """Another process is training, resuming or pushing this run directory."""


def user_files(folder: Path) -> list[str]:
    """What is in `folder`, leaving out the temporary files a killed writer may have left."""
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if not TEMPORARY_FILE.match(entry.name))


def check_fresh_folder(out: Path) -> None:
    """A fresh run may write into a new or empty folder, nothing else."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder; choose another --out")
    present = user_files(out)
    if STATE_FILE in present:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    if MODEL_FILE in present:
        raise ValueError(f"{out} holds a finished run without its resume state; choose another --out")
    if present:
        shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
        raise ValueError(
            f"{out} is not empty and holds no run of train.py ({shown}); nothing was written: choose a "
            f"new or empty folder for --out"
        )


def lock_run_directory(out: Path) -> None:
    """Hold an exclusive lock on the folder until release_run_directories() (at the end of train.py's
    command) or the end of the process, whichever comes first."""
    key = str(out.resolve())
    if key in _held:
        return
    descriptor = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise RunDirectoryBusy(
                f"{out} is in use by another train.py (training, resuming or pushing it); wait for it "
                f"to end, or choose another --out"
            ) from None
        raise
    _held[key] = descriptor


def release_run_directories() -> None:
    """Let go of every folder this process holds: train.py's main() does as its command ends, so
    that a Python session which ran it (a notebook, a test) leaves the runs free for the next one."""
    while _held:
        os.close(_held.popitem()[1])  # closing the descriptor drops its lock


def remove_temporary_files(out: Path) -> None:
    """What a killed writer of this run left; call it only while holding the lock."""
    for folder in (out, out / SAMPLES_DIR):
        if folder.is_dir():
            for entry in folder.iterdir():
                if TEMPORARY_FILE.match(entry.name) and entry.is_file():
                    entry.unlink(missing_ok=True)
