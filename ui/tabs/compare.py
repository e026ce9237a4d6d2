"""The first tab: the question the tutorial's readers come with, and its answer on one screen: the
same noise through the tutorial's recipe and through the improved one, their D(x) and D(G(z))
against the 0.5 line, their digit shares, and a verdict drawn from the runs' own histories."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.explain import QUESTION, compare_intro, model_facts, verdict
from gan_core.demo.sampler import MAX_COUNT
from gan_core.latent import MAX_SEED
from gan_core.runs.plots import digit_histograms_figure, recipes_figure
from ui.calls import shown_to_user
from ui.components import fixed_plots, shows_its_answer
from ui.context import Context
from ui.digit_panel import opens_on_click, panel, seed_grid_click
from ui.tabs import generate


def endpoints(ctx: Context):
    draw, *_ = generate.endpoints(ctx)

    @shown_to_user
    def compare(seed, count):
        """The same seed through both generators: the improved recipe's and the tutorial's.

        Args:
            seed: whole number from 0 to 2147483647 that picks the noise vectors
            count: how many digits, 1 to 64, in rows of 8

        Returns:
            the improved generator's PNG grid, and the tutorial's, from the same noise
        """
        return tuple(draw(seed, count, model) for model in ctx.samplers)

    def inspector(model: str):
        def inspect_digit(seed, count, click: gr.SelectData):
            """A click on the grid of `model`: the digit under it, in the panel under both grids."""
            return seed_grid_click(ctx, model, seed, count, click)

        return inspect_digit

    return compare, inspector


def build(ctx: Context) -> dict:
    compare, inspector = endpoints(ctx)
    gr.Markdown(f"## {QUESTION}\n\n{verdict(ctx.model.history, ctx.tutorial_history)}", elem_id="verdict")
    with gr.Row():
        seed = gr.Number(
            value=7, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0, elem_id="compare-seed"
        )
        count = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="count")
    button = gr.Button("Compare", variant="primary", elem_id="compare-button")
    first = compare(7, 16)
    with gr.Row():
        grids = []
        for name, label, history, path in (
            ("improved", ctx.served_label, ctx.model.history, first[0]),
            ("tutorial", "tutorial", ctx.tutorial_history, first[1]),
        ):
            with gr.Column():
                gr.Markdown(model_facts(label, history))
                grids.append(
                    gr.Image(
                        interactive=False,
                        value=path,
                        label=label,
                        show_label=False,  # the facts above name it; a label chip would cover digits
                        type="filepath",
                        buttons=["download"],
                        elem_id=f"compare-{name}",
                    )
                )
    clicked, clicked_text = panel("compare")
    for grid, model in zip(grids, ("improved", "tutorial"), strict=True):
        grid.select(inspector(model), [seed, count], [clicked, clicked_text], api_visibility="private",
                    preprocess=False)  # fmt: skip
        opens_on_click(grid, "compare")
    button.click(compare, [seed, count], grids, api_name="compare", preprocess=False)
    shows_its_answer(button, "compare-improved")
    # Redrawn as the visitor changes either control, as on every tab.
    gr.on([seed.input, count.input], compare, [seed, count], grids, api_visibility="private",
          preprocess=False, trigger_mode="always_last")  # fmt: skip
    gr.Markdown(compare_intro(ctx.model.history, ctx.tutorial_history))
    runs = {ctx.served_label: ctx.model.history, "tutorial": ctx.tutorial_history}
    fixed_plots(ctx, "compare-scores-plot", recipes_figure, runs)
    fixed_plots(ctx, "compare-digits-plot", digit_histograms_figure, runs)
    # What a shareable link may set (ui/links.py), and what draws once it has.
    return {"seed": seed, "count": count, "redraw": [(compare, [seed, count], grids)]}
