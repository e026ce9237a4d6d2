"""The "How it works" tab's material quotes the code and the bundled runs (tests/test_browser.py
checks that the page shows it)."""

import inspect
import textwrap

from gan_core.explain import equilibrium_text, generator_loss_source, step_excerpts
from gan_core.history import read_history
from gan_core.step import generator_loss, train_step
from tests.helpers import ROOT


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
    assert "D(x) is 0.68 and its D(G(z)) 0.32 and 27% of its digits are ones" in text  # the measured run
    assert f"D(x) = {improved['epochs'][-1]['d_x']:.2f}" in text and "300 epochs" in text
