"""The app's fixed figures, drawn once per content: PNG data URIs kept in a cache folder.

Why: the app shows five figures made from the runs it serves, and drawing them (matplotlib's
layout and rendering) was about 2 s of every start. They depend only on their inputs and on the
code that draws them, so the PNG is kept under a key made of both, and a start with the same runs
(the bundled ones, every time) reads it back. Where no cache folder can be written, the figure is
drawn as before.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import matplotlib
from PIL import Image

from gan_core.io import atomic_write_text, read_bounded
from gan_core.runs import plots

log = logging.getLogger(__name__)


PNG_URI = "data:image/png;base64,"
NOTHING = "none"  # the entry of a figure that make() does not draw (no quality figures recorded)
MAX_ENTRY_BYTES = 8 * 1024 * 1024  # the app's largest figure is about 200 KB


def figure_data_uri(make: Callable, *inputs, folder: Path | None = None) -> str | None:
    """make(*inputs) as the PNG data URI Gradio would make of it, from the cache when the same
    inputs were drawn by the same code before; None when make() draws nothing. An entry that is not
    one this code wrote whole (cut short, replaced, a link, not text) is drawn again and rewritten."""
    key = _key(make, inputs)
    path = folder / f"{key}.txt" if folder is not None else None
    if path is not None:
        try:
            return cached_entry(path)
        except ValueError as error:  # missing, or bad: draw it again
            if path.exists() or path.is_symlink():
                log.warning("redrawing a damaged figure cache entry: %s", error)
    figure = make(*inputs)
    uri = None if figure is None else _png_data_uri(figure)
    if path is not None:
        try:
            atomic_write_text(path, uri or NOTHING)
        except OSError as error:  # a read-only home: draw every time, as before
            log.info("could not cache a figure in %s: %s", folder, error)
    return uri


def cached_entry(path: Path) -> str | None:
    """A cache entry, read as bytes and checked: a regular file (never a link, whatever it points
    at), ASCII, and either NOTHING or a PNG data URI whose image is complete; else a ValueError."""
    data = read_bounded(path, MAX_ENTRY_BYTES, follow_links=False)
    if data == NOTHING.encode():
        return None
    if not data.startswith(PNG_URI.encode()):
        raise ValueError(f"{path} is not a figure entry")
    try:
        png = base64.b64decode(data[len(PNG_URI) :], validate=True)
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise ValueError("not a PNG")
            image.load()  # a cut-short PNG fails here
    except Exception as error:
        raise ValueError(f"{path} holds no whole PNG ({type(error).__name__})") from None
    return data.decode("ascii")


def _png_data_uri(figure) -> str:
    with io.BytesIO() as output:
        figure.savefig(output, format="png")  # as gradio's encode_plot_to_base64
        data = output.getvalue()
    return PNG_URI + base64.b64encode(data).decode("ascii")


def _key(make: Callable, inputs) -> str:
    """The inputs (JSON), the drawing code (plots.py, whole) and matplotlib's version."""
    text = json.dumps([make.__name__, inputs], sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    digest.update(inspect.getsource(plots).encode())
    digest.update(matplotlib.__version__.encode())
    return digest.hexdigest()[:32]
