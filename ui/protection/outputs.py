"""The files a demo hands out: written atomically, named by content, swept after an hour, held
under a total size (the oldest go first), and removed with their folder when the process ends, so a
long-lived Space keeps its disk bounded.

The folder is made inside Gradio's own file cache when the app passes it as `parent`: Gradio then
serves the file where it is instead of keeping a second copy of every answer (the cap would bound
only half the disk otherwise)."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

from gan_core.io import atomic_write_bytes


class OutputsRemoved(RuntimeError):
    """An answer finished after the app began to stop: its file is not kept."""


DEFAULT_MAX_BYTES = 512 * 1024 * 1024  # over a thousand of the largest answers (a 64-frame strip)


class OutputFiles:
    def __init__(
        self,
        max_age_s: float = 3600,
        sweep_every_s: float = 60,
        max_bytes: int = DEFAULT_MAX_BYTES,
        parent: str | Path | None = None,
    ):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="mnist-gan-outputs-", dir=parent))
        self.max_age_s, self.sweep_every_s, self.max_bytes = max_age_s, sweep_every_s, max_bytes
        self.last_sweep = time.time()
        self.removed = False
        self._sizes: OrderedDict[Path, int] = OrderedDict()  # every file kept, oldest use first
        self._pinned: set[Path] = set()  # the page's first images: kept while the app runs
        self._pinning = False
        self._lock = threading.Lock()
        atexit.register(self.remove)

    @contextmanager
    def kept_for_good(self):
        """Answers written inside this block are the page's first images, which every visitor's
        page shows for as long as the app runs: never swept, never counted against the cap (Gradio
        keeps its own first images in the same way)."""
        self._pinning = True
        try:
            yield
        finally:
            self._pinning = False

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

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
        with self._lock:
            if self._pinning:
                self._pinned.add(path)
            if path in self._pinned:  # a visitor's answer can be one of the first images: it stays
                return str(path)
            self._sizes[path] = len(data)
            self._sizes.move_to_end(path)
        self._hold_to_cap(keep=path)
        self.sweep()
        return str(path)

    def _hold_to_cap(self, keep: Path) -> None:
        """Delete the least recently handed-out files until all of them fit in max_bytes; the one
        just written stays (a visitor is about to fetch it)."""
        with self._lock:
            total = sum(self._sizes.values())
            doomed = []
            for path, size in self._sizes.items():
                if total <= self.max_bytes:
                    break
                if path != keep:
                    doomed.append(path)
                    total -= size
            for path in doomed:
                del self._sizes[path]
        for path in doomed:
            _delete(path)

    def sweep(self) -> None:
        """Delete outputs older than max_age_s, looking at most once every sweep_every_s."""
        now = time.time()
        if now - self.last_sweep < self.sweep_every_s:
            return
        self.last_sweep = now
        for old in self.folder.glob("*/*"):
            if old in self._pinned:
                continue
            try:
                if old.stat().st_mtime < now - self.max_age_s:
                    with self._lock:
                        self._sizes.pop(old, None)
                    _delete(old)
            except OSError:  # another request swept it first
                pass


def _delete(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:  # another request reused the folder, or Gradio's own sweep came first
        pass
