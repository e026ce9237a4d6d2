"""Which epochs a training film shows, for runs of every length."""

import pytest

from gan_core.demo.film import MAX_FILM_FRAMES, film_epochs


@pytest.mark.parametrize("saved", [0, 1, 2, 12, 60, 61, 300, 1000])
def test_the_film_keeps_first_and_last_and_spreads_the_rest_evenly(saved):
    epochs = list(range(5, 5 * saved + 1, 5))
    chosen = film_epochs(epochs)
    assert len(chosen) == min(saved, MAX_FILM_FRAMES)
    assert chosen == sorted(set(chosen)) and set(chosen) <= set(epochs)
    if saved:
        assert chosen[0] == epochs[0] and chosen[-1] == epochs[-1]
    if saved > MAX_FILM_FRAMES:  # evenly spread: no gap more than one step wider than another
        gaps = [later - earlier for earlier, later in zip(chosen, chosen[1:], strict=False)]
        assert max(gaps) - min(gaps) <= 5
