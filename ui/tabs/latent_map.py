"""The "Latent map" tab: the digits between four seeds at the corners of a square."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.sampler import MAP_SCALE, MAX_MAP, MIN_MAP, check_switch, whole_number
from gan_core.images import grid_index_at, png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import digit_name, digit_of, file_name, model_choice, shows_its_answer
from ui.context import Context
from ui.digit_panel import describe, panel
from ui.links import corners_query, model_query

MAP_CORNERS = (3, 4, 9, 15)  # a 1, a 0, a 6 and a 7: the 8x8 map between them holds all ten


def map_name(seed_a, seed_b, seed_c, seed_d, size, indices) -> str:
    """'map_3-4-9-15_8' for four seeds' first digits; 'map_42.3-...' where a corner is digit 3 of 42."""
    corners = zip((seed_a, seed_b, seed_c, seed_d), indices, strict=True)
    return f"map_{'-'.join(digit_name(seed, index) for seed, index in corners)}_{int(size)}"


def endpoints(ctx: Context):
    @shown_to_user
    def latent_grid(seed_a, seed_b, seed_c, seed_d, size, model="improved", tint=False,
                    index_a=0, index_b=0, index_c=0, index_d=0):  # fmt: skip
        """A map of the latent space between four seeds at its corners: slerp down the edges, then
        across each row, so the regions where one digit turns into another can be seen.

        Args:
            seed_a: the seed at the top left
            seed_b: the seed at the top right
            seed_c: the seed at the bottom left
            seed_d: the seed at the bottom right
            size: cells per side, 3 to 12
            model: "improved" (the served generator, the default) or "tutorial"
            tint: true to colour each cell by the digit a classifier reads there, with a legend below
            index_a: which digit of seed A's /generate grid is the top left corner, 0 (the default) to 63
            index_b: which digit of seed B's grid is the top right corner, 0 (the default) to 63
            index_c: which digit of seed C's grid is the bottom left corner, 0 (the default) to 63
            index_d: which digit of seed D's grid is the bottom right corner, 0 (the default) to 63

        Returns:
            PNG grid of size x size digits, 3x enlarged
        """
        seeds, indices = (seed_a, seed_b, seed_c, seed_d), (index_a, index_b, index_c, index_d)
        if check_switch(tint, "tint"):
            image = ctx.readers[model].tinted_map(*seeds, size, indices)
            return ctx.outputs.write(
                png_bytes(image), file_name(model, f"{map_name(*seeds, size, indices)}_tinted.png")
            )
        image = ctx.sampler_for(model).latent_map(*seeds, size, indices)
        return ctx.outputs.write(png_bytes(image), file_name(model, f"{map_name(*seeds, size, indices)}.png"))

    def inspect_digit(seed_a, seed_b, seed_c, seed_d, size, model, tint, index_a, index_b, index_c, index_d,
                      click: gr.SelectData):  # fmt: skip
        """A click on the map: the digit under it, in the panel below (ui/digit_panel.py), with its
        place between the four corners. A click between digits, or on the legend, changes nothing."""
        size = whole_number(size, "size", MIN_MAP, MAX_MAP)
        index = grid_index_at(*click.index, columns=size, scale=MAP_SCALE)
        if index is None or index >= size * size:
            return gr.skip(), gr.skip()
        seeds, indices = (seed_a, seed_b, seed_c, seed_d), (index_a, index_b, index_c, index_d)
        _, digits = ctx.sampler_for(model).latent_map_with_images(*seeds, size, indices)
        row, column = divmod(index, size)
        title = f"Row {row + 1}, column {column + 1} of the map"
        name = f"{map_name(*seeds, size, indices)}_cell{index}.png"
        links = []
        if row in (0, size - 1):  # the top and bottom edges are Interpolate's slerp between two corners
            start, end = (0, 1) if row == 0 else (2, 3)
            t = round(column / (size - 1), 4)
            ends = corners_query((seeds[start], indices[start]), (seeds[end], indices[end]))
            slider = f"?view=interpolate&{ends}&t={t}{model_query(model)}"
            links.append(f"[The same digit on Interpolate's slider]({slider})")
        return describe(ctx, model, digits[index], title, name, links)

    return latent_grid, inspect_digit


def build(ctx: Context) -> dict:
    latent_grid, inspect_digit = endpoints(ctx)
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
        corner_digits = [digit_of(corner) for corner in "ABCD"]
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
        interactive=False,
        value=latent_grid(*MAP_CORNERS, 8),
        label="latent map",
        show_label=False,
        type="filepath",
        buttons=["download"],
        elem_id="map-output",
    )
    map_inputs = [*corners, size, map_model, tint, *corner_digits]
    clicked, clicked_text = panel("map")
    latent_map.select(inspect_digit, map_inputs, [clicked, clicked_text], api_visibility="private",
                      preprocess=False)  # fmt: skip
    map_button.click(latent_grid, map_inputs, latent_map, api_name="latent_grid", preprocess=False)
    shows_its_answer(map_button, "map-output")
    # Redrawn as the visitor changes any control, as on every tab.
    gr.on([control.input for control in map_inputs], latent_grid, map_inputs, latent_map,
          api_visibility="private", preprocess=False, trigger_mode="always_last")  # fmt: skip
    # What a shareable link may set (ui/links.py: the four corners), and what draws once it has.
    named = {f"seed_{corner}": seed for corner, seed in zip("abcd", corners, strict=True)}
    named |= {f"index_{corner}": index for corner, index in zip("abcd", corner_digits, strict=True)}
    named["model"] = map_model
    return {**named, "redraw": [(latent_grid, map_inputs, latent_map)]}
