"""Files in and out. Written atomically: to a temporary name in the same folder, flushed to disk, then
renamed over the old one, so a crash or Ctrl-C leaves the old file or the new one. Read from outside
(a run folder, a Hub repo, a cache entry): only a regular file, only up to a size, and never a wait.

Why the reads are careful: a run folder is untrusted input. `history.json` may be a FIFO (an open()
that never returns), a link to /dev/zero (a read that never ends) or a folder; a grid may be a 76 KB
PNG that decodes to 9000x9000 pixels. Each of these stopped or stalled the app's start. Here a file
is opened without blocking, checked to be a regular file on the descriptor that is then read (so a
swap in between changes nothing), and read to at most `max_bytes`; anything else is a ValueError
that names the file.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from pathlib import Path

from PIL import Image


def _open_regular(path: Path, follow_links: bool) -> int:
    """A descriptor of `path`, opened without blocking (a FIFO's open() would wait for a writer) and
    checked to be a regular file; a ValueError naming the file otherwise."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except OSError as error:  # ELOOP for a link with follow_links=False, EACCES, ...
        reason = "a link" if not follow_links and path.is_symlink() else error.strerror
        raise ValueError(f"{path} cannot be read ({reason})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ValueError(f"{path} is not a regular file")
    return descriptor


def read_bounded(path: str | Path, max_bytes: int, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, or a ValueError saying why not.
    follow_links=False refuses a link too (a cache entry of ours is never one)."""
    path = Path(path)
    with os.fdopen(_open_regular(path, follow_links), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise ValueError(f"{path} is {size:,} bytes, more than the {max_bytes:,} allowed")
        data = handle.read(max_bytes + 1)  # a file that grows while it is read stops here too
    if len(data) > max_bytes:
        raise ValueError(f"{path} is more than the {max_bytes:,} bytes allowed")
    return data


def check_regular(path: str | Path) -> Path:
    """`path` if it is a regular file (links followed), for readers that open it themselves
    (safetensors maps the file)."""
    path = Path(path)
    os.close(_open_regular(path, follow_links=True))
    return path


def decode_image(data: bytes, name: str, size: tuple[int, int], mode: str = "L") -> Image.Image:
    """A PNG (or any Pillow format) of exactly `size` pixels, decoded only after its header said so:
    a small file cannot make the app allocate gigabytes. A cut-short or corrupt image is a ValueError."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.size != size:
            raise ValueError(f"{name} is {image.size[0]}x{image.size[1]} pixels, not {size[0]}x{size[1]}")
        image.load()
        return image.convert(mode)
    except ValueError:
        raise
    except Exception as error:  # Pillow's UnidentifiedImageError, OSError (truncated), bombs
        raise ValueError(f"{name} is not a readable image ({type(error).__name__})") from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Files get the permissions any program's would (0644 under the usual umask), not mkstemp's 0600.
FILE_MODE = 0o666 & ~_current_umask()


def atomic_write_bytes(path: str | Path, data: bytes, *, make_folders: bool = True) -> None:
    """Write `data` to `path` whole or not at all. A run's own files pass make_folders=False: a run
    directory removed while training must not be made again, empty, by its next write."""
    path = Path(path)
    if make_folders:
        path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, *, make_folders: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), make_folders=make_folders)


def json_text(value: dict) -> str:
    return json.dumps(value, indent=2, allow_nan=False) + "\n"


def write_json(path: str | Path, value: dict, *, make_folders: bool = True) -> None:
    atomic_write_text(path, json_text(value), make_folders=make_folders)
