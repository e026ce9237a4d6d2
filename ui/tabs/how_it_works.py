"""The "How it works" tab: answers to the questions the tutorial's readers ask: the code of one step
(read from gan_core), the two losses, and what the two bundled runs measured. It has no endpoint."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.explain import (
    LOADING,
    WHY_DETACH,
    WHY_REAL_LABELS,
    equilibrium_text,
    generator_loss_source,
    how_it_works_intro,
    step_excerpts,
)
from gan_core.runs.history import read_history
from gan_core.runs.layout import HISTORY_FILE, REAL_IMAGES_FILE, sample_path
from gan_core.runs.plots import recipes_figure
from ui.components import fixed_plots
from ui.context import BUNDLED_WEIGHTS, TUTORIAL_RUN, Context


def build(ctx: Context) -> None:
    improved, tutorial = read_history(BUNDLED_WEIGHTS / HISTORY_FILE), ctx.tutorial_history
    gr.Markdown(how_it_works_intro())
    # The code wraps its lines (wrap_lines): a phone shows them whole rather than scrolled sideways.
    # Each box is as tall as its code (lines=1 at least; wrapped on a phone, up to three times as tall).
    for title, code in step_excerpts():
        gr.Markdown(f"**{title}**")
        gr.Code(code, language="python", interactive=False, show_label=False, elem_classes="step-code",
                wrap_lines=True, lines=1, max_lines=3 * (code.count("\n") + 1))  # fmt: skip
    gr.Markdown(WHY_REAL_LABELS)
    loss_code = generator_loss_source()
    gr.Code(loss_code, language="python", interactive=False, show_label=False, wrap_lines=True,
            lines=1, max_lines=3 * (loss_code.count("\n") + 1))  # fmt: skip
    gr.Markdown(WHY_DETACH)
    gr.Markdown(equilibrium_text(improved, tutorial))
    fixed_plots(ctx, "recipes-plot", recipes_figure, {"improved (R1)": improved, "tutorial": tutorial})
    gr.Markdown(
        "**What do good samples look like?** Each recipe's fixed-noise grid (the same 64 noise "
        "vectors at every epoch) as it trains, beside 64 real MNIST digits:"
    )
    grids = [(BUNDLED_WEIGHTS / REAL_IMAGES_FILE, "real MNIST digits")]
    for label, run, epochs in (
        ("improved", BUNDLED_WEIGHTS, (25, 100, 300)),
        ("tutorial", TUTORIAL_RUN, (1, 10, 100, 300)),
    ):
        grids += [
            (sample_path(run, epoch), f"epoch {epoch}, {label}")  # the epoch first: a phone cuts the end
            for epoch in epochs
            if sample_path(run, epoch).is_file()
        ]
    gr.Gallery([(str(path), caption) for path, caption in grids], columns=4,
               show_label=False, elem_id="samples-gallery", interactive=False)  # fmt: skip
    gr.Markdown("**Loading the generator:**\n\n" + LOADING)
