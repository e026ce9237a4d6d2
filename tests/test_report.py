"""The score table stays small for a long history (what /training_scores and the scores tab show)."""

import pytest

from gan_core.runs.report import MAX_TABLE_ROWS, score_table, shown_rows


def history_of(epochs: int, evaluated_every: int = 0) -> dict:
    rows = []
    for epoch in range(1, epochs + 1):
        row = {"epoch": epoch, "d_loss": 1.0, "g_loss": 2.0, "d_x": 0.5, "d_g_z": 0.5, "seconds": 1.0}
        if evaluated_every and (epoch % evaluated_every == 0 or epoch == epochs):
            row["quality"] = {"mnist_fd": 100.0 / epoch}
        rows.append(row)
    return {"epochs": rows}


def test_a_short_history_is_shown_whole():
    history = history_of(MAX_TABLE_ROWS)
    assert shown_rows(history) == history["epochs"]
    assert [row[0] for row in score_table(history)] == list(range(1, MAX_TABLE_ROWS + 1))


@pytest.mark.parametrize("evaluated_every", [0, 1, 10, 400])
def test_a_long_history_is_thinned_evenly_keeping_its_ends_and_its_evaluations(evaluated_every):
    history = history_of(100_000, evaluated_every)
    epochs = [row["epoch"] for row in shown_rows(history)]
    assert len(epochs) <= MAX_TABLE_ROWS and len(set(epochs)) == len(epochs)
    assert epochs == sorted(epochs) and epochs[0] == 1 and epochs[-1] == 100_000
    gaps = [later - earlier for earlier, later in zip(epochs, epochs[1:], strict=False)]
    assert max(gaps) <= 100_000 / (MAX_TABLE_ROWS // 2 - 1) + 1  # no big holes
    evaluated = [row["epoch"] for row in history["epochs"] if "quality" in row]
    shown_evaluated = [epoch for epoch in epochs if epoch in set(evaluated)]
    if len(evaluated) <= MAX_TABLE_ROWS // 2:
        assert shown_evaluated == evaluated  # a few evaluations are all kept
    else:
        assert len(shown_evaluated) >= MAX_TABLE_ROWS // 2
    assert len(score_table(history)) == len(epochs)
