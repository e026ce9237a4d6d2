"""The "Interpolate" tab: the digits between two seeds, one by the slider and as a strip and a GIF,
and the nearest training images of the frame shown."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.nearest import MAX_K
from gan_core.demo.sampler import MAX_FRAMES, MIN_FRAMES
from gan_core.images import png_bytes
from gan_core.latent import MAX_SEED, METHODS
from ui.calls import shown_to_user
from ui.components import digit_of, file_name, model_choice, path_name, shows_its_answer
from ui.context import Context
from ui.tabs import nearest


def endpoints(ctx: Context):
    @shown_to_user
    def interpolate(seed_a, seed_b, t, method, model="improved", index_a=0, index_b=0):
        """The digit at a point between two digits' noise vectors: digit index_a of seed A's
        /generate grid and digit index_b of seed B's (each seed's first digit by default).

        Args:
            seed_a: the seed at t = 0
            seed_b: the seed at t = 1
            t: fraction of the way from A to B, 0 to 1
            method: "slerp" (along the sphere the noise lies on) or "lerp" (a straight line)
            model: "improved" (the served generator, the default) or "tutorial"
            index_a: which digit of seed A's grid starts the path, 0 (top left, the default) to 63
            index_b: which digit of seed B's grid ends it, 0 (the default) to 63

        Returns:
            PNG of one digit, 12x enlarged
        """
        image = ctx.sampler_for(model).interpolate(seed_a, seed_b, t, method, index_a, index_b)
        name = file_name(model, f"{path_name(seed_a, seed_b, index_a, index_b)}_{method}_t{t:.2f}.png")
        return ctx.outputs.write(png_bytes(image), name)

    @shown_to_user
    def interpolation_strip(seed_a, seed_b, frames, method, model="improved", index_a=0, index_b=0):
        """Evenly spaced digits from seed A to seed B, as one row and as a looping GIF.

        Args:
            seed_a: the seed of the first frame
            seed_b: the seed of the last frame
            frames: how many digits, 2 to 32
            method: "slerp" or "lerp"
            model: "improved" (the served generator, the default) or "tutorial"
            index_a: which digit of seed A's grid is the first frame, 0 (the default) to 63
            index_b: which digit of seed B's grid is the last frame, 0 (the default) to 63

        Returns:
            PNG strip of the frames, and an animated GIF of them
        """
        strip, gif = ctx.sampler_for(model).strip(seed_a, seed_b, frames, method, index_a, index_b)
        name = file_name(model, f"{path_name(seed_a, seed_b, index_a, index_b)}_{method}")
        return ctx.outputs.write(png_bytes(strip), f"{name}_{frames}.png"), ctx.outputs.write(
            gif, f"{name}.gif"
        )

    return interpolate, interpolation_strip


def build(ctx: Context) -> dict:
    interpolate, interpolation_strip = endpoints(ctx)
    _, nearest_frame = nearest.endpoints(ctx)
    with gr.Row():
        seed_a = gr.Number(value=1, label="seed A", minimum=0, maximum=MAX_SEED, step=1, precision=0)
        index_a = digit_of("A")
        seed_b = gr.Number(value=2, label="seed B", minimum=0, maximum=MAX_SEED, step=1, precision=0)
        index_b = digit_of("B")
    with gr.Row():
        method = gr.Radio(list(METHODS), value="slerp", label="method")
        interpolate_model = model_choice(ctx)
    digit = gr.Image(
        interactive=False,
        value=ctx.samplers["improved"].interpolate(1, 2, 0.5, "slerp"),
        label="G(z(t))",
        type="pil",
        format="png",
        buttons=["download"],
        height=360,
        elem_id="interpolate-output",
    )
    # The slider right under the digit, like a video's: on a phone both fit one screen while dragged
    # (above the digit, the slider left it below the fold).
    t = gr.Slider(0, 1, value=0.5, step=0.01, label="t: from A (0) to B (1)", elem_id="t-slider")
    # .input fires as the visitor changes a control, and while the slider is dragged (not only on
    # release); always_last drops the stale positions a slow request would otherwise queue up.
    # Values set for the visitor (an example, a shared link) draw once all are set.
    live = {"trigger_mode": "always_last", "show_progress": "hidden", "preprocess": False}
    digit_inputs = [seed_a, seed_b, t, method, interpolate_model, index_a, index_b]
    gr.on([control.input for control in digit_inputs], interpolate, digit_inputs, digit,
          api_name="interpolate", **live)  # fmt: skip
    examples = gr.Examples(
        [[1, 2, "slerp"], [3, 8, "lerp"], [10, 77, "slerp"]],
        [seed_a, seed_b, method],
        label="try these pairs",
    )
    with gr.Row():
        frames = gr.Slider(MIN_FRAMES, MAX_FRAMES, value=10, step=1, precision=0, label="frames")
        strip_button = gr.Button("Make strip and GIF")
    first_strip, first_gif = interpolation_strip(1, 2, 10, "slerp")
    strip = gr.Image(
        interactive=False,
        value=first_strip,
        label="A → B",
        show_label=False,
        type="pil",
        format="png",
        buttons=["download"],
        elem_id="strip-output",
    )
    # An image, so the GIF plays in the page; the download keeps its descriptive name.
    gif = gr.Image(
        interactive=False,
        value=first_gif,
        label="animated GIF",
        type="filepath",
        buttons=["download"],
        elem_id="strip-gif",
    )
    strip_inputs = [seed_a, seed_b, frames, method, interpolate_model, index_a, index_b]
    shows_its_answer(strip_button, "strip-output")
    strip_button.click(
        interpolation_strip, strip_inputs, [strip, gif], api_name="interpolation_strip", preprocess=False
    )
    # The strip follows the seeds, the method and the frame count, as the single digit does.
    strip_controls = (seed_a, seed_b, method, frames, interpolate_model, index_a, index_b)
    gr.on([control.input for control in strip_controls], interpolation_strip, strip_inputs, [strip, gif],
          api_visibility="private", **live)  # fmt: skip
    examples.load_input_event.then(interpolate, digit_inputs, digit, api_visibility="private", **live).then(
        interpolation_strip, strip_inputs, [strip, gif], api_visibility="private", **live
    )
    with gr.Accordion("Is this frame a copy of a training image?", open=False):
        with gr.Row():
            frame_k = gr.Slider(1, MAX_K, value=8, step=1, precision=0, label="k", scale=3)
            frame_button = gr.Button(
                "Find the nearest training images",
                scale=1,
                elem_id="frame-nearest-button",
                interactive=ctx.nearest.configured,  # without MNIST, as on its own tab
            )
        frame_image, frame_sentence, frame_table = nearest.outputs_row("frame-nearest")
        shows_its_answer(frame_button, "frame-nearest-output")
        frame_button.click(
            nearest_frame,
            [seed_a, seed_b, t, method, frame_k, interpolate_model, index_a, index_b],
            [frame_image, frame_table, frame_sentence],
            api_name="nearest_frame",
            preprocess=False,
        )
    # What a shareable link may set (ui/links.py), and what draws once it has.
    redraw = [(interpolate, digit_inputs, digit), (interpolation_strip, strip_inputs, [strip, gif])]
    named = {"seed_a": seed_a, "seed_b": seed_b, "index_a": index_a, "index_b": index_b, "t": t,
             "model": interpolate_model}  # fmt: skip
    return {**named, "redraw": redraw}
