"""Pieces more than one tab uses: the model choice, the choice of a seed's digit, the fixed figures, the
names of the files, and the scroll that shows a button's answer."""

from __future__ import annotations

import inspect
import json

import gradio as gr
from gradio.components.plot import PlotData
from gradio.context import get_blocks_context

from gan_core.demo.sampler import MAX_COUNT
from gan_core.runs.plots import narrow
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


def fixed_plots(ctx: Context, elem_id: str, make, *inputs) -> None:
    """A fixed figure twice: wide for a desktop, and narrow for a phone (panels stacked, legends
    under the axes, its text 10 px there); the page's CSS shows the one that fits the screen. Both
    are drawn once per content (plot_cache). Nothing when make() draws nothing."""
    wide = fixed_plot(ctx, make, *inputs)
    if wide is None:
        return
    gr.Plot(wide, show_label=False, elem_id=elem_id, elem_classes=["wide-plot"])
    gr.Plot(fixed_plot(ctx, narrow(make), *inputs), show_label=False, elem_id=f"{elem_id}-phone",
            elem_classes=["phone-plot"])  # fmt: skip


def file_name(model: str, rest: str) -> str:
    """Download names: the served model's as before, the tutorial's marked as such."""
    return f"mnist-gan{'-tutorial' if model == 'tutorial' else ''}_{rest}"


def digit_name(seed, index) -> str:
    """A digit of a seed's grid in a file name: '42' for its first, '42.3' for digit 3. The values are
    checked ones (a form's 3.0 is 3)."""
    return f"{int(seed)}" if int(index) == 0 else f"{int(seed)}.{int(index)}"


def path_name(seed_a, seed_b, index_a, index_b) -> str:
    """'1-to-2' for two seeds' first digits, '42.3-to-42.4' for digits 3 and 4 of seed 42."""
    return f"{digit_name(seed_a, index_a)}-to-{digit_name(seed_b, index_b)}"


def digit_of(corner: str) -> gr.Number:
    """Which digit of a seed's Generate grid an end of the path (or a map's corner) is."""
    return gr.Number(value=0, label=f"digit of seed {corner}", minimum=0, maximum=MAX_COUNT - 1, step=1,
                     precision=0, info="its place in the seed's Generate grid; 0 is the first")  # fmt: skip


def shows_its_answer(button: gr.Button, answer_id: str) -> None:
    """A click scrolls the element its answer goes to into view, in the browser and at once (the
    answer's progress shows there while it is drawn). On a phone the answer is often below the
    fold; "nearest" scrolls only as far as needed, so on a desktop that shows it already nothing moves."""
    scroll = f"document.getElementById({json.dumps(answer_id)})?.scrollIntoView({{block: 'nearest'}})"
    button.click(None, None, None, js=f"() => {{ {scroll}; }}", queue=False, api_visibility="private")


def api_only(fn, api_name: str, answer: str) -> None:
    """An endpoint with no view of its own (gr.api, typed from fn's hints), its values and its answer
    named as every other endpoint's are: gr.api would name them "1st", "2nd"."""
    gr.api(fn, api_name=api_name)
    function = next(f for f in get_blocks_context().fns.values() if f.api_name == api_name)
    for block, name in zip(function.inputs, inspect.signature(fn).parameters, strict=True):
        block.label = name
    function.outputs[0].label = answer
