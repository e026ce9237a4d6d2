"""The files a demo hands out: written atomically, named by content, swept after an hour, and
removed with their folder when the process ends, so a long-lived Space keeps its disk bounded."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from .run_files import atomic_write_bytes


class OutputsRemoved(RuntimeError):
    """An answer finished after the app began to stop: its file is not kept."""


class OutputFiles:
    def __init__(self, max_age_s: float = 3600, sweep_every_s: float = 60):
        self.folder = Path(tempfile.mkdtemp(prefix="mnist-gan-outputs-"))
        self.max_age_s, self.sweep_every_s = max_age_s, sweep_every_s
        self.last_sweep = time.time()
        self.removed = False
        atexit.register(self.remove)

    def remove(self) -> None:
        """Delete every file handed out, and the folder (at exit, or when the app is stopped)."""
        self.removed = True  # first: a request still running must not write the folder back
        shutil.rmtree(self.folder, ignore_errors=True)

    def write(self, data: bytes, name: str) -> str:
        """A path to a file holding `data`, called `name` (what a download is saved as). Two identical
        answers share one file, written atomically, so a visitor never downloads a file that another
        request is still writing."""
        if self.removed:
            raise OutputsRemoved("the app is stopping; no more answers are written")
        path = self.folder / hashlib.sha256(data).hexdigest()[:32] / name
        try:
            os.utime(path)  # reused: keep it from the next sweep
        except FileNotFoundError:
            atomic_write_bytes(path, data)
        if self.removed:  # stopped while this one was being written: what it wrote goes too
            shutil.rmtree(self.folder, ignore_errors=True)
            raise OutputsRemoved("the app is stopping; no more answers are written")
        self.sweep()
        return str(path)

    def sweep(self) -> None:
        """Delete outputs older than max_age_s, looking at most once every sweep_every_s."""
        now = time.time()
        if now - self.last_sweep < self.sweep_every_s:
            return
        self.last_sweep = now
        for old in self.folder.glob("*/*"):
            try:
                if old.stat().st_mtime < now - self.max_age_s:
                    old.unlink()
                    old.parent.rmdir()
            except (FileNotFoundError, OSError):  # another request swept it first, or reused the folder
                pass
