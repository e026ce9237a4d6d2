"""Pieces more than one tab uses: the model choice, the fixed figures, the names of the files."""

from __future__ import annotations

import gradio as gr
from gradio.components.plot import PlotData

from ui.context import Context
from ui.protection.plot_cache import figure_data_uri


def model_choice(ctx: Context) -> gr.Radio:
    return gr.Radio(
        list(ctx.samplers),
        value="improved",
        label="model",
        info=f"improved: the served run ({ctx.served_recipe_words}); tutorial: the tutorial's recipe",
    )


def fixed_plot(ctx: Context, make, *inputs) -> PlotData | None:
    """A figure of the served runs, as Gradio's plot data, drawn once per content (plot_cache)."""
    uri = figure_data_uri(make, *inputs, folder=ctx.settings.plot_cache)
    return None if uri is None else PlotData(type="matplotlib", plot=uri)


def file_name(model: str, rest: str) -> str:
    """Download names: the served model's as before, the tutorial's marked as such."""
    return f"mnist-gan{'-tutorial' if model == 'tutorial' else ''}_{rest}"
