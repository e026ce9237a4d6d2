"""The race: both recipes trained from scratch side by side, live, for the same time and seed.

Two of live.py's runs at once (a child process each, one CPU thread at nice 19), each followed by a
thread of its own; their updates come out merged, in the order they arrive, each with its recipe.
The race ends as its runs do: at its time, or as soon as either is stopped, loses its audience or
fails. Then the other is ended too, and its child with it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from gan_core.config import RECIPES
from gan_core.demo.live import LiveRunEnded, LiveSettings, LiveTrainer, LiveUpdate

RACE_SECONDS = 30  # long enough for the tutorial's D(x) to run off and R1's to stay near 0.5
OVER = "the race is over"  # what the run still going is told when the other has ended


def race_settings(seconds, seed) -> dict[str, LiveSettings]:
    """Each recipe's run, with the same time and seed, or a ValueError naming the bad value."""
    return {recipe: LiveSettings.checked(recipe, seconds, seed) for recipe in RECIPES}


def run_race(
    data_folder: Callable[[], Path],
    settings: dict[str, LiveSettings],
    ended: Callable[[], str | None] = lambda: None,
    watched: Callable[[], bool] = lambda: True,
) -> Iterator[tuple[str, LiveUpdate]]:
    """(recipe, update) as each run sends them. The first run to end early ends the race: its
    LiveRunEnded or ValueError is raised here once the other run has ended too."""
    data_folder()  # no MNIST: the ValueError that says what is needed, before any child starts
    merged: queue.Queue = queue.Queue()
    over = threading.Event()

    def ended_or_over() -> str | None:
        return ended() or (OVER if over.is_set() else None)

    def follow(settings: LiveSettings) -> None:
        try:
            for update in LiveTrainer(data_folder).run(settings, ended_or_over, watched):
                merged.put((settings.recipe, update))
        except (LiveRunEnded, ValueError) as error:
            merged.put((settings.recipe, error))
        finally:
            merged.put((settings.recipe, None))

    runs = [threading.Thread(target=follow, args=(one,), name=f"race-{one.recipe}", daemon=True)
            for one in settings.values()]  # fmt: skip
    for run in runs:
        run.start()
    first_error = None
    try:
        running = len(runs)
        while running:
            recipe, item = merged.get()
            if item is None:
                running -= 1
            elif isinstance(item, Exception):
                first_error = first_error or item
                over.set()  # the other run ends within live.POLL_S, its child with it
            elif first_error is None:
                yield recipe, item
        if first_error is not None:
            raise first_error
    finally:
        over.set()  # a closed race (a cancel, a client gone) ends both runs and their children
        for run in runs:
            run.join()
