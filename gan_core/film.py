"""Training as a film: the fixed-noise grids a run saved, from the first epoch to the last, as one
looping GIF. The same 64 noise vectors in every frame, so what changes is only what G learned."""

from __future__ import annotations

from PIL import Image

from .images import looping_gif, upscale, with_title
from .loading import SampleGrids

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
    """The film's GIF bytes, or None for a run that saved no grids. Each frame is titled with its
    epoch. A grid that cannot be fetched (a Hub run, offline) raises: a film with holes would lie."""
    chosen = film_epochs(grids.epochs)
    if not chosen:
        return None
    last = chosen[-1]
    frames = [
        with_title(
            upscale(Image.open(grids.path(epoch)).convert("L"), FILM_SCALE), f"epoch {epoch} of {last}"
        )
        for epoch in chosen
    ]
    return looping_gif(frames, [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS])
