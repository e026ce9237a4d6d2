"""The "Latent map" tab: the digits between four seeds at the corners of a square."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.sampler import MAX_MAP, MIN_MAP, check_switch
from gan_core.images import png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import file_name, model_choice, shows_its_answer
from ui.context import Context

MAP_CORNERS = (3, 4, 9, 15)  # a 1, a 0, a 6 and a 7: the 8x8 map between them holds all ten


def endpoints(ctx: Context):
    @shown_to_user
    def latent_grid(seed_a, seed_b, seed_c, seed_d, size, model="improved", tint=False):
        """A map of the latent space between four seeds at its corners: slerp down the edges, then
        across each row, so the regions where one digit turns into another can be seen.

        Args:
            seed_a: the seed at the top left
            seed_b: the seed at the top right
            seed_c: the seed at the bottom left
            seed_d: the seed at the bottom right
            size: cells per side, 3 to 12
            model: "improved" (the served generator, the default) or "tutorial"
            tint: true to colour each cell by the digit an MNIST classifier reads there (a legend of the
                ten colours is added below)

        Returns:
            PNG grid of size x size digits, 3x enlarged
        """
        sampler = ctx.sampler_for(model)
        name = file_name(model, f"map_{seed_a}-{seed_b}-{seed_c}-{seed_d}_{size}")
        if check_switch(tint, "tint"):
            image = ctx.readers[model].tinted_map(seed_a, seed_b, seed_c, seed_d, size)
            return ctx.outputs.write(png_bytes(image), f"{name}_tinted.png")
        image = sampler.latent_map(seed_a, seed_b, seed_c, seed_d, size)
        return ctx.outputs.write(png_bytes(image), f"{name}.png")

    return (latent_grid,)


def build(ctx: Context) -> None:
    (latent_grid,) = endpoints(ctx)
    gr.Markdown(
        "Four seeds at the corners, and the digits between them: the generator lays the ten digits "
        "out in regions of its latent space, and the borders show one turning into another."
    )
    with gr.Row():
        corners = [
            gr.Number(value=value, label=f"seed {corner}", minimum=0, maximum=MAX_SEED, step=1, precision=0)
            for value, corner in zip(
                MAP_CORNERS,
                ("A (top left)", "B (top right)", "C (bottom left)", "D (bottom right)"),
                strict=True,
            )
        ]
    with gr.Row():
        size = gr.Slider(MIN_MAP, MAX_MAP, value=8, step=1, precision=0, label="size", scale=3)
        map_model = model_choice(ctx)
        tint = gr.Checkbox(
            False,  # the API's default too: client code from before tint existed gets grey maps
            label="tint by digit",
            info="colour each cell by the digit an MNIST classifier reads there",
            elem_id="tint-box",
        )
    map_button = gr.Button("Draw the map", variant="primary", elem_id="map-button")
    latent_map = gr.Image(
        value=latent_grid(*MAP_CORNERS, 8),
        label="latent map",
        show_label=False,
        type="filepath",
        buttons=["download"],
        elem_id="map-output",
    )
    map_inputs = [*corners, size, map_model, tint]
    map_button.click(latent_grid, map_inputs, latent_map, api_name="latent_grid", preprocess=False)
    shows_its_answer(map_button, "map-output")
    # Redrawn as the visitor changes any control, as on every tab.
    gr.on([control.input for control in map_inputs], latent_grid, map_inputs, latent_map,
          api_visibility="private", preprocess=False, trigger_mode="always_last")  # fmt: skip
