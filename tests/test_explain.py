"""The "How it works" tab's material quotes the code and the bundled runs (tests/test_browser.py
checks that the page shows it)."""

import inspect
import re
import textwrap

from gan_core.demo.explain import LOADING, equilibrium_text, generator_loss_source, step_excerpts, verdict
from gan_core.runs.history import read_history
from gan_core.runs.plots import quality_figure, recipes_figure
from gan_core.training.engines.reference import generator_loss, train_step
from tests.helpers import ROOT

TUTORIAL_HISTORY = ROOT / "weights" / "tutorial" / "history.json"


def test_the_two_updates_are_contiguous_lines_of_train_step():
    source = inspect.getsource(train_step)
    (d_title, d_code), (g_title, g_code) = step_excerpts()
    assert d_title.startswith("(1) update D") and g_title.startswith("(2) update G")
    for code in (d_code, g_code):
        assert textwrap.indent(code, "    ") in source  # verbatim, in order, nothing left out between
    assert "fakes[:batch_size].detach()" in d_code and "d_optimizer.step()" in d_code
    assert "g_optimizer.step()" not in d_code and "d_optimizer" not in g_code
    assert "g_optimizer.step()" in g_code and "return" not in g_code
    assert generator_loss_source() == textwrap.dedent(inspect.getsource(generator_loss)).strip()


def test_the_equilibrium_answer_quotes_both_bundled_runs():
    improved = read_history(ROOT / "weights" / "history.json")
    tutorial = read_history(ROOT / "weights" / "tutorial" / "history.json")
    text = equilibrium_text(improved, tutorial)
    last = tutorial["epochs"][-1]
    assert f"D(x) is {last['d_x']:.2f} and its D(G(z)) {last['d_g_z']:.2f}" in text
    assert "D(x) is 0.69 and its D(G(z)) 0.31 and 29% of its digits are ones" in text  # the measured run
    assert f"D(x) = {improved['epochs'][-1]['d_x']:.2f}" in text and "300 epochs" in text


def test_the_recipes_plot_draws_both_bundled_histories():
    histories = {name: read_history(ROOT / folder / "history.json") for name, folder in
                 (("improved (R1)", "weights"), ("tutorial", "weights/tutorial"))}  # fmt: skip
    (axis,) = recipes_figure(histories).axes
    lines = {line.get_label(): line for line in axis.get_lines()}
    for name, history in histories.items():
        rows = history["epochs"]
        for score, label in (("d_x", "D(x)"), ("d_g_z", "D(G(z))")):
            line = lines[f"{label}, {name}"]
            assert list(line.get_xdata()) == [row["epoch"] for row in rows]
            assert list(line.get_ydata()) == [row[score] for row in rows]
    assert list(lines["0.5 (the tutorial's claim)"].get_ydata()) == [0.5, 0.5]
    # Each recipe is drawn the same way whatever the order it comes in (the race lists the tutorial
    # first): R1 solid, the tutorial's dashed.
    for order in (histories, dict(reversed(histories.items()))):
        (axis,) = recipes_figure(order, narrow=True).axes
        styles = {line.get_label(): line.get_linestyle() for line in axis.get_lines()}
        assert styles["D(x), improved (R1)"] == styles["D(G(z)), improved (R1)"] == "-"
        assert styles["D(x), tutorial"] == styles["D(G(z)), tutorial"] == "--"


def test_the_loading_snippet_of_the_tab_runs(tmp_path):
    """The three lines the tab shows, run as shown, on a run folder instead of a Hub repo."""
    code = LOADING.split("```python\n")[1].split("```")[0]
    assert code.count('"you/mnist-gan"') == 1
    scope = {}
    exec(code.replace('"you/mnist-gan"', repr(str(ROOT / "weights"))), scope)
    digits = scope["digits"]
    assert digits.shape == (16, 784) and digits.min() >= -1 and digits.max() <= 1


def test_the_verdict_answers_the_tutorials_question_from_the_runs_own_last_epochs():
    improved, tutorial = read_history(ROOT / "weights" / "history.json"), read_history(TUTORIAL_HISTORY)
    text = verdict(improved, tutorial)
    assert text.startswith("**No, not as the tutorial trains it.** After 300 epochs it ends at D(x) = 0.69")
    assert "29% of its digits are ones" in text and "end at D(x) = 0.50 and D(G(z)) = 0.50" in text
    # From the numbers, not written in: a run that ends at 0.5 gets a yes, and a served run of the
    # tutorial's own recipe (or one without scores) adds no R1 sentence.
    near = {
        **tutorial,
        "epochs": [*tutorial["epochs"][:-1], {**tutorial["epochs"][-1], "d_x": 0.53, "d_g_z": 0.48}],
    }
    assert verdict(improved, near).startswith("**Yes.** After 300 epochs it ends at D(x) = 0.53")
    assert "R1" not in verdict(tutorial, tutorial) and "R1" not in verdict({"epochs": []}, tutorial)
    assert "cannot say" in verdict(improved, {"epochs": []})


def test_the_quality_plot_reads_in_plain_numbers_and_names_only_what_needs_naming():
    history = read_history(ROOT / "weights" / "history.json")  # no EMA: one generator, one line
    figure = quality_figure(history, narrow=True)
    fd_axis, is_axis, _ = figure.axes
    figure.canvas.draw()
    labels = [tick.get_text() for tick in fd_axis.get_yticklabels(which="both") if tick.get_text()]
    assert labels and all(re.fullmatch(r"\d+(\.\d+)?", label) for label in labels), labels
    assert fd_axis.get_legend() is None and is_axis.get_legend() is None
    # With an EMA's raw figures beside, both lines are named.
    with_raw = {**history, "epochs": [
        {**row, "quality_raw": row["quality"]} if "quality" in row else row for row in history["epochs"]
    ]}  # fmt: skip
    fd_axis = quality_figure(with_raw).axes[0]
    assert [text.get_text() for text in fd_axis.get_legend().get_texts()] == [
        "served (EMA of G's weights)",
        "raw (no EMA)",
    ]
