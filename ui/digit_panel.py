"""The panel a click on a digit opens, on every grid of digits (Generate, a digit on demand, the
answer's two grids, the latent map): the digit enlarged, what an MNIST classifier reads there, D's
score, and the links that take it further (its nearest training images, a morph from it, its place
in a latent map, and this very digit)."""

from __future__ import annotations

import gradio as gr
import torch

from gan_core.demo.critic import d_verdict
from gan_core.demo.digits import caption
from gan_core.demo.sampler import GRID_SCALE, MAX_COUNT, check_seed, whole_number
from gan_core.images import digit_grid, grid_index_at, png_bytes
from ui.components import file_name
from ui.context import Context
from ui.links import corners_query, model_query

HINT = "Click a digit to see it up close, what a classifier reads there and D's score."


def panel(prefix: str, hint: str = HINT) -> tuple[gr.Image, gr.Markdown]:
    """The panel's picture (hidden until a click) and its text, side by side where both fit (each at
    least 240 px wide), the text under the picture on a phone, where side by side squeezed it."""
    with gr.Row(equal_height=False):
        picture = gr.Image(
            interactive=False,
            label="the digit clicked",
            type="filepath",
            visible=False,
            scale=1,
            min_width=240,
            show_label=False,
            buttons=["download"],
            elem_id=f"{prefix}-digit-view",
        )
        text = gr.Markdown(hint, min_width=240, elem_id=f"{prefix}-digit-text")
    return picture, text


def opens_on_click(grid: gr.Image, prefix: str) -> None:
    """A click on the grid scrolls its panel into view, at once in the browser: on a phone the
    answer's upper grid has its panel below the lower one, out of sight."""
    scroll = f"document.getElementById('{prefix}-digit-text')?.scrollIntoView({{block: 'nearest'}})"
    grid.select(None, None, None, js=f"() => {{ {scroll}; }}", queue=False, api_visibility="private")


def score_sentence(score: float) -> str:
    """What D's score of a digit says, in words; within 0.05 of 0.5 its call is said to be a guess
    (R1's D scores nearly every digit there, and "it would call it real" overclaimed a 0.504)."""
    hedge = ", only just: so near 0.5 it cannot tell" if abs(score - 0.5) < 0.05 else ""
    return (
        f"The discriminator gives it **{score:.3f}**: it would call it {d_verdict(score)}{hedge} (its "
        "estimate that the digit is a real MNIST image; 0.5 is a coin toss, where a GAN's training should "
        "end)."
    )


def describe(ctx: Context, model: str, digit: torch.Tensor, title: str, name: str, links: list[str]):
    """The panel's contents for one digit ((784,) in [-1, 1]) of `model`: its picture, and its text
    with the classifier's reading, D's score (or why there is none) and `links` (Markdown)."""
    confidence, label = ctx.readers[model].read(digit[None])
    critic = ctx.critics[model]
    judged = score_sentence(critic.score(digit)) if critic.available else (
        f"D's score is not available: {critic.missing}.")  # fmt: skip
    picture = ctx.outputs.write(png_bytes(digit_grid(digit[None], columns=1, scale=8, padding=0)),
                                file_name(model, name))  # fmt: skip
    text = (
        f"**{title}** ({model}): an MNIST classifier reads `{caption(int(label), float(confidence))}` "
        f"there. {judged} {' · '.join(links)}"
    )
    return gr.Image(value=picture, visible=True), text


def seed_links(seed: int, index: int, model: str) -> list[str]:
    """A digit of a seed's grid: its nearest training images, a morph from it into the digit after it
    in the grid, its place in a latent map (its top left corner, the next three digits of the grid at
    the others); the first is the link that shares it."""
    nearest = f"?view=nearest&seed={seed}&index={index}{model_query(model)}"
    after = [(index + step) % MAX_COUNT for step in (1, 2, 3)]  # the last digit's "next" is the first
    morph = f"?view=interpolate&{corners_query((seed, index), (seed, after[0]))}&t=0{model_query(model)}"
    corners = corners_query(*((seed, place) for place in (index, *after)))
    return [
        f"[Its nearest training images]({nearest}) (the link to share this digit)",
        f"[Morph it into the next digit of the grid]({morph})",
        f"[Its place in a latent map](?view=latent-map&{corners}{model_query(model)}) (the top left corner)",
    ]


def seed_grid_click(ctx: Context, model: str, seed, count, click: gr.SelectData, band: int = 0):
    """A click on a seed's grid (Generate's, the answer's): the panel's contents for the digit under
    it, or no change for a click between digits. `band`: the caption band under each row."""
    seed, count = check_seed(seed), whole_number(count, "count", 1, MAX_COUNT)
    index = grid_index_at(*click.index, columns=min(count, 8), scale=GRID_SCALE, band=band)
    if index is None or index >= count:
        return gr.skip(), gr.skip()
    digit = ctx.sampler_for(model).digit(seed, index)
    title, name = f"Digit {index} of seed {seed}", f"seed{seed}_digit{index}.png"
    return describe(ctx, model, digit, title, name, seed_links(seed, index, model))
