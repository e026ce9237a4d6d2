"""Training as a film: the fixed-noise grids a run saved, from the first epoch to the last, as one
looping GIF. The same 64 noise vectors in every frame, so what changes is only what G learned."""

from __future__ import annotations

import logging
import threading
import time

from gan_core.hub.pull import GridUnreadable, SampleGrids
from gan_core.images import looping_gif, upscale, with_title
from gan_core.messages import first_line

log = logging.getLogger(__name__)

MAX_FILM_FRAMES = 60  # a 300-grid run would make a 10 MB GIF; 60 frames keep it near 2 MB
FILM_SCALE = 2
FRAME_MS = 400
LAST_FRAME_MS = 2500  # the trained result stays up before the film starts again


def film_epochs(epochs: list[int], limit: int = MAX_FILM_FRAMES) -> list[int]:
    """At most `limit` of the saved epochs, evenly spread, always with the first and the last."""
    if len(epochs) <= limit:
        return list(epochs)
    picks = {round(i * (len(epochs) - 1) / (limit - 1)) for i in range(limit)}
    return [epochs[i] for i in sorted(picks)]


def training_film(grids: SampleGrids) -> bytes | None:
    """The film's GIF bytes, or None for a run with no grid that can be shown. Each frame is titled
    with its epoch, so a damaged grid is left out as a missing one would be. A grid that cannot be
    fetched (a Hub run, offline) raises: that is a passing fault, and a film with holes would lie."""
    images = {}
    for epoch in film_epochs(grids.epochs):
        try:
            images[epoch] = grids.image(epoch)  # at most 242 x 242 pixels, checked before decoding
        except GridUnreadable as error:
            log.warning("the training film leaves out epoch %d: %s", epoch, error)
    if not images:
        return None
    last = max(images)
    frames = [
        with_title(upscale(image, FILM_SCALE), f"epoch {epoch} of {last}") for epoch, image in images.items()
    ]
    return looping_gif(frames, [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS])


class FilmMaker:
    """One run's film, made once and kept, failures included: a call that repeats a failed one
    within `retry_s` gets the same answer without paying again, and calls wait for each other
    instead of making it side by side (two at once doubled the memory a film takes)."""

    def __init__(self, grids: SampleGrids, retry_s: float = 60):
        self.grids, self.retry_s = grids, retry_s
        self._lock = threading.Lock()
        self._made = False
        self._data: bytes | None = None
        self._failure: tuple[float, str] | None = None  # (when, the message shown)

    def film(self) -> bytes:
        """The GIF, or a ValueError with the message a visitor sees."""
        with self._lock:
            if self._failure is not None and time.monotonic() - self._failure[0] < self.retry_s:
                raise ValueError(self._failure[1])
            if not self._made:
                try:
                    self._data = training_film(self.grids)
                except Exception as error:  # grids fetched from the Hub on demand can fail like any download
                    log.warning("could not make the training film: %s", first_line(error))
                    message = f"The sample grids could not be fetched ({first_line(error)}); try again later."
                    self._failure = (time.monotonic(), message)
                    raise ValueError(message) from None
                self._made, self._failure = True, None
        if self._data is None:
            raise ValueError(
                "This run saved no sample grids that can be shown, so there is no film of its training."
            )
        return self._data
