"""Reading a file that came from outside (a run folder, a Hub repo, a cache entry): only a regular
file, only up to a size, and never a wait.

Why: a run folder is untrusted input. `history.json` may be a FIFO (an open() that never returns), a
link to /dev/zero (a read that never ends) or a folder; a grid may be a 76 KB PNG that decodes to
9000x9000 pixels. Each of these stopped or stalled the app's start. Here a file is opened without
blocking, checked to be a regular file on the descriptor that is then read (so a swap in between
changes nothing), and read to at most `max_bytes`; anything else is a ValueError that names the file.
"""

from __future__ import annotations

import io
import os
import stat
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
