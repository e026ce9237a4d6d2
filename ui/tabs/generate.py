"""The "Generate" tab: digits from a seed, with what a classifier reads in them, and a digit on demand."""

from __future__ import annotations

import random

import gradio as gr

from gan_core.demo.critic import d_verdict
from gan_core.demo.digits import CAPTION_SIZE
from gan_core.demo.sampler import GRID_SCALE, MAX_COUNT, check_seed, check_switch, whole_number
from gan_core.images import caption_height, grid_index_at, png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import api_only, file_name, model_choice, shows_its_answer
from ui.context import Context
from ui.digit_panel import describe, panel, score_sentence, seed_grid_click, seed_links


def endpoints(ctx: Context):
    @shown_to_user
    def generate(seed, count, model="improved", captions=False, d_scores=False):
        """Draw digits from the GAN: the same seed gives the same digits on every machine.

        Args:
            seed: whole number from 0 to 2147483647 that picks the noise vectors
            count: how many digits, 1 to 64, in rows of 8
            model: "improved" (the served generator, the default) or "tutorial" (the tutorial's recipe)
            captions: true to write under each digit what an MNIST classifier reads there, and how sure it is
            d_scores: true to write under each digit the discriminator's score (0 to 1) that it is real

        Returns:
            PNG grid of the digits, 4x enlarged with sharp pixels (with a line of caption under each row
            for each of captions and d_scores that is true)
        """
        sampler = ctx.sampler_for(model)
        seed, count = check_seed(seed), whole_number(count, "count", 1, MAX_COUNT)  # 1.0 is 1, in names too
        with_captions, with_scores = check_switch(captions, "captions"), check_switch(d_scores, "d_scores")
        if with_captions or with_scores:
            critic = ctx.critic_for(model) if with_scores else None
            image = ctx.readers[model].captioned(seed, count, classifier=with_captions, critic=critic)
            marks = "_captioned" * with_captions + "_d" * with_scores
            return ctx.outputs.write(png_bytes(image), file_name(model, f"seed{seed}_{count}{marks}.png"))
        image = sampler.generate(seed, count)
        return ctx.outputs.write(png_bytes(image), file_name(model, f"seed{seed}_{count}.png"))

    @shown_to_user
    def d_score(seed: int, index: int, model: str = "improved") -> dict:
        """The discriminator's score of one generated digit: its estimate that the digit is a real
        MNIST image. At the GAN's equilibrium it is 0.5 for every digit, real or generated.

        Args:
            seed: the seed of generate's grid, 0 to 2147483647
            index: the digit's place in that grid, 0 (top left) to 63, along the rows
            model: "improved" (the served generator, the default) or "tutorial"

        Returns:
            {"d_score": D's score from 0 to 1 (4 decimals), "d_call": "real" (a score of 0.5 or
            more) or "generated", "meaning": a sentence saying what it means}
        """
        critic = ctx.critic_for(model)
        score = critic.score(ctx.sampler_for(model).digit(seed, index))
        return {"d_score": round(score, 4), "d_call": d_verdict(score), "meaning": score_sentence(score)}

    @shown_to_user
    def find_digit(digit, count, seed, model="improved"):
        """Digits of one kind on demand: draw 1,024 digits from the seed, let an MNIST classifier read
        them, and show the ones it is surest are that digit.

        Args:
            digit: which digit, 0 to 9
            count: how many to show at most, 1 to 64, in rows of 8
            seed: whole number from 0 to 2147483647 that picks the 1,024 noise vectors
            model: "improved" (the served generator, the default) or "tutorial"

        Returns:
            PNG grid of the digits found (most confident first), and a sentence with how often the
            generator draws that digit and the classifier's confidence for each one shown
        """
        ctx.sampler_for(model)  # the message for a bad model, before anything is drawn
        found = ctx.readers[model].find(digit, count, seed)
        name = file_name(model, f"digit{digit}_seed{seed}_{count}.png")
        return ctx.outputs.write(png_bytes(found.grid), name), found.summary()

    def inspect_digit(seed, count, model, captions, d_scores, click: gr.SelectData):
        """A click on the grid: the digit under it, in the panel (ui/digit_panel.py). A click
        between digits changes nothing."""
        lines = (captions is True) + (d_scores is True)
        band = caption_height(CAPTION_SIZE, lines) if lines else 0
        return seed_grid_click(ctx, model, seed, count, click, band)

    def inspect_found(found_with, click: gr.SelectData):
        """A click on the digits found: the one under it, in the panel under them. `found_with`: the
        digit, count, seed and model of the last Find, whatever the controls say since."""
        if found_with is None:
            return gr.skip(), gr.skip()
        digit, count, seed, model = found_with
        ctx.sampler_for(model)  # the message for a model the app does not serve
        found = ctx.readers[model].find(digit, count, seed)
        index = grid_index_at(*click.index, columns=min(max(len(found.draws_shown), 1), 8), scale=GRID_SCALE)
        if index is None or index >= len(found.draws_shown):
            return gr.skip(), gr.skip()
        draw = found.draws_shown[index]
        title = f"Draw {draw} of the {found.draws} from seed {seed}"
        # The first 64 draws are the seed's Generate grid, so a link can name them (seed, index).
        links = seed_links(seed, draw, model) if draw < MAX_COUNT else []
        return describe(ctx, model, found.shown[index], title, f"seed{seed}_draw{draw}.png", links)

    return generate, d_score, find_digit, inspect_digit, inspect_found


def random_seed():
    return random.randint(0, MAX_SEED)


def build(ctx: Context) -> dict:
    generate, d_score, find_digit, inspect_digit, inspect_found = endpoints(ctx)
    with gr.Row():
        seed = gr.Number(value=42, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0, scale=3)
        dice = gr.Button("Random seed", scale=1)  # words, not a die: a phone without an emoji font drew a box
        count = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="count", scale=3)
    # The model and the two ticks side by side where they fit, one above the other on a phone (each
    # at least 200 px wide): three in a row squeezed the ticks' words to one per line.
    with gr.Row():
        with gr.Column(min_width=200):
            generate_model = model_choice(ctx)
        with gr.Column(min_width=200):
            captions = gr.Checkbox(
                False,
                label="captions",
                info="under each digit, what an MNIST classifier reads there and how sure it is",
                elem_id="captions-box",
            )
            d_scores = gr.Checkbox(
                False,
                label="D's scores",
                info="under each digit, the discriminator's estimate that it is a real MNIST image (0 to 1)",
                elem_id="d-scores-box",
            )
    generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
    grid = gr.Image(
        interactive=False,
        value=ctx.samplers["improved"].generate(42, 16),
        label="digits",
        show_label=False,  # a label chip would cover the first digits (the API keeps the name)
        type="pil",
        format="png",
        buttons=["download"],
        elem_id="generate-output",
    )
    # Click a digit: it shows beside what the classifier reads there, D's score and its links.
    clicked, clicked_text = panel("generate")
    generate_inputs = [seed, count, generate_model, captions, d_scores]
    grid.select(
        inspect_digit, generate_inputs, [clicked, clicked_text], api_visibility="private", preprocess=False
    )
    generate_button.click(generate, generate_inputs, grid, api_name="generate", preprocess=False)
    api_only(d_score, "d_score", "D's score")  # the click shows it; code asks for it by seed and index
    shows_its_answer(generate_button, "generate-output")
    # One rule on every tab: a control redraws as the visitor changes it (the last change wins when
    # they come faster than the drawing). Values set for the visitor (an example, the dice, a shared
    # link) draw once all are set, so a picture never shows half of them.
    redraw = {"api_visibility": "private", "preprocess": False, "trigger_mode": "always_last"}
    gr.on([control.input for control in generate_inputs], generate, generate_inputs, grid, **redraw)
    examples = gr.Examples([[7, 16], [2024, 64], [31337, 8]], [seed, count], label="try these seeds",
                           elem_id="generate-examples")  # fmt: skip
    examples.load_input_event.then(generate, generate_inputs, grid, **redraw)
    dice.click(random_seed, None, seed, api_visibility="private").then(
        generate, generate_inputs, grid, **redraw
    )
    with gr.Accordion("A digit on demand", open=False):
        gr.Markdown(
            "The generator has no digit input: this draws 1,024 digits from the seed above, lets an "
            "MNIST classifier read them, and shows the ones it is surest are the digit you pick."
        )
        with gr.Row():
            # Strings, as the API's schema states them; find_digit takes 7 and "7" alike.
            wanted = gr.Radio([str(d) for d in range(10)], value="7", label="digit", scale=3)
            find_button = gr.Button("Find", scale=1, elem_id="find-button")
        found_grid = gr.Image(
            interactive=False,
            label="found",
            show_label=False,
            type="filepath",
            buttons=["download"],
            elem_id="find-output",
        )
        found_text = gr.Markdown(label="what it found", elem_id="find-text")
        shows_its_answer(find_button, "find-output")
        found_view, found_view_text = panel("find")
        found_with = gr.State(None)  # what the grid shown was found with, for a click on it
        find_inputs = [wanted, count, seed, generate_model]
        find_button.click(
            find_digit, find_inputs, [found_grid, found_text], api_name="find_digit", preprocess=False
        ).success(lambda *values: list(values), find_inputs, found_with, api_visibility="private")
        found_grid.select(inspect_found, found_with, [found_view, found_view_text], api_visibility="private",
                          preprocess=False)  # fmt: skip
    # What a shareable link may set (ui/links.py), and what draws once it has.
    return {"seed": seed, "count": count, "redraw": [(generate, generate_inputs, grid)]}
