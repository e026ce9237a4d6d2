"""The "Nearest images" tab: the nearest MNIST training images of a generated digit (gan_core.demo.nearest).
Its nearest_frame endpoint sits on the Interpolate tab, under the frame it checks."""

from __future__ import annotations

import gradio as gr

from gan_core.demo.nearest import HOW_TO_ENABLE, MAX_K, TABLE_HEADERS, nearest_grid, nearest_table, verdict
from gan_core.demo.sampler import MAX_COUNT, whole_number
from gan_core.images import png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import model_choice, path_name, shows_its_answer
from ui.context import Context

INTRO = (
    "**Does the generator just copy its training set?** The standard check: for a generated digit, "
    "the nearest of the 60,000 MNIST training images, by pixels (L2 distance, pixels from 0 to 1) and "
    "by what an MNIST classifier sees (cosine similarity of its 128 features; 1 is the same). A GAN "
    "that memorised would show near-copies at a small distance. Pick a digit of the Generate tab by "
    "its seed and its place in the grid (0 is the top left, counting along the rows)."
)


def status_text(ctx: Context) -> str:
    index = ctx.nearest
    if index.status == "ready":
        seconds = index.build_seconds.get("features", 0)
        note = f" There is {index.typical_note}." if index.typical_note else ""
        return f"Index: ready, {len(index.index):,} training images (built in {seconds:.0f} s).{note}"
    if not index.configured:
        return f"**Not available here.** {HOW_TO_ENABLE}"
    return f"Index: {index.status}."


def answer(ctx: Context, generated, k, name: str):
    k = whole_number(k, "k", 1, MAX_K)
    by_pixels, by_features = ctx.nearest.query(generated, k)
    grid = nearest_grid(generated, ctx.nearest.index, by_pixels, by_features)
    table = {"headers": TABLE_HEADERS, "data": nearest_table(by_pixels, by_features)}
    return ctx.outputs.write(png_bytes(grid), name), table, verdict(by_pixels, ctx.nearest.index.typical)


def endpoints(ctx: Context):
    @shown_to_user
    def nearest(seed, index, k, model="improved"):
        """The k nearest MNIST training images of one generated digit, by pixels and by an MNIST
        classifier's features: the standard check that a GAN does not copy its training set.

        Args:
            seed: the seed of a /generate grid, 0 to 2147483647
            index: the digit's place in that grid, 0 (top left) to 63, along the rows
            k: how many neighbours by each measure, 1 to 16
            model: "improved" (the served generator, the default) or "tutorial"

        Returns:
            PNG: the digit, then its k nearest training images by pixels (with L2 distances) and
            by features (with cosine similarities); the same as a table (training-set row, MNIST
            label, distance); and a sentence comparing the distance with a real test digit's
        """
        digit = ctx.sampler_for(model).digit(seed, index)
        return answer(ctx, digit, k, f"mnist-gan_nearest_seed{seed}_{index}_{k}.png")

    @shown_to_user
    def nearest_frame(seed_a, seed_b, t, method, k, model="improved", index_a=0, index_b=0):
        """The k nearest MNIST training images of an interpolation frame (what /interpolate shows).

        Args:
            seed_a: the seed at t = 0
            seed_b: the seed at t = 1
            t: fraction of the way from A to B, 0 to 1
            method: "slerp" or "lerp"
            k: how many neighbours by each measure, 1 to 16
            model: "improved" (the served generator, the default) or "tutorial"
            index_a: which digit of seed A's grid the path starts from, 0 (the default) to 63
            index_b: which digit of seed B's grid it ends at, 0 (the default) to 63

        Returns:
            as /nearest: the neighbours as a PNG and as a table, and the sentence
        """
        frame = ctx.sampler_for(model).frame(seed_a, seed_b, t, method, index_a, index_b)
        path = path_name(seed_a, seed_b, index_a, index_b)
        return answer(ctx, frame, k, f"mnist-gan_nearest_{path}_{method}_t{t:.2f}_{k}.png")

    return nearest, nearest_frame


PHONE_HEADERS = ["by", "image", "label", "value"]  # short: all four fit a phone's 324 px


def phone_rows(table) -> list[list]:
    """The neighbours as a phone shows them: the measure in a word, no rank (the order gives it)."""
    return [
        [measure.split()[0], image, label, value] for measure, _, image, label, value in table.values.tolist()
    ]


def outputs_row(prefix: str):
    """The three outputs, in the order the endpoints return them. The table is drawn twice, as the
    fixed plots are: all five columns on a desktop, four short ones on a phone (the page's CSS shows
    the one that fits), the phone's filled from the other whenever it changes."""
    image = gr.Image(interactive=False, label="nearest training images", show_label=False, type="filepath",
                     buttons=["download"], elem_id=f"{prefix}-output")  # fmt: skip
    # Not interactive, said outright: as the phone table's input the wide one became editable.
    table = gr.Dataframe(headers=TABLE_HEADERS, label="neighbours", max_height=300, elem_id=f"{prefix}-table",
                         interactive=False, elem_classes=["wide-plot"])  # fmt: skip
    phone_table = gr.Dataframe(headers=PHONE_HEADERS, label="neighbours", max_height=300, interactive=False,
                               elem_id=f"{prefix}-table-phone", elem_classes=["phone-plot"])  # fmt: skip
    table.change(phone_rows, table, phone_table, api_visibility="private", show_progress="hidden")
    sentence = gr.Markdown(label="verdict", elem_id=f"{prefix}-verdict")
    return [image, sentence, table]


def build(ctx: Context, tab: gr.Tab) -> dict:
    """The tab's contents; its status line is renewed after each answer and when the tab is chosen."""
    nearest, _ = endpoints(ctx)

    def status() -> str:
        return status_text(ctx)

    gr.Markdown(INTRO)
    shown_status = gr.Markdown(status(), elem_id="nearest-status")
    with gr.Row():
        seed = gr.Number(value=42, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0,
                         elem_id="nearest-seed")  # fmt: skip
        index = gr.Slider(0, MAX_COUNT - 1, value=0, step=1, precision=0, label="index in the grid")
        k = gr.Slider(1, MAX_K, value=8, step=1, precision=0, label="k")
        model = model_choice(ctx)
    # Without MNIST the tab says so above, and the button cannot be pressed into an error.
    button = gr.Button("Find the nearest training images", variant="primary", elem_id="nearest-button",
                       interactive=ctx.nearest.configured)  # fmt: skip
    image, sentence, table = outputs_row("nearest")
    shows_its_answer(button, "nearest-output")
    button.click(nearest, [seed, index, k, model], [image, table, sentence], api_name="nearest",
                 preprocess=False).then(status, None, shown_status, api_visibility="private")  # fmt: skip
    tab.select(status, None, shown_status, api_visibility="private")

    def search_for_link(*values):
        """A link to a digit's nearest images searches as it opens; while the index is still being
        built, the sentence says so (the button searches then). Without MNIST the status says why."""
        if not ctx.nearest.configured:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            return nearest(*values)
        except gr.Error as error:
            return gr.skip(), gr.skip(), f"{error.message} Press the button above once it is ready."

    # What a shareable link may set (ui/links.py), and the search that runs once it has.
    inputs = [seed, index, k, model]
    return {
        "seed": seed,
        "index": index,
        "model": model,
        "redraw": [(search_for_link, inputs, [image, table, sentence])],
    }
