"""The "Be the discriminator" tab: the visitor sorts real MNIST test digits from generated ones, then
sees the truth, their call and D's score for each, and the tally against D (gan_core.demo.game)."""

from __future__ import annotations

import random

import gradio as gr

from gan_core.demo.game import (
    LABELS,
    ROUND_SIZE,
    TABLE_HEADERS,
    check_calls,
    make_round,
    reveal,
    round_picture,
)
from gan_core.images import png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import file_name, model_choice, shows_its_answer
from ui.context import Context
from ui.tabs.live import missing_data

INTRO = (
    f"**Be the discriminator.** Of these {ROUND_SIZE} digits, some are real MNIST test digits and the "
    "others were drawn by the generator: tick the ones you think are real, then reveal. You see the "
    "truth, your call and the discriminator's score for each, and who did better, you or D."
)


def endpoints(ctx: Context):
    def round_for(round_number, model):
        sampler = ctx.sampler_for(model)
        ctx.critic_for(model)  # a model without D cannot be played: said before the round is shown
        return make_round(round_number, sampler, ctx.nearest.real_test_digits())

    @shown_to_user
    def game_round(round_number, model="improved"):
        """A round of "Be the discriminator": real MNIST test digits and generated ones, mixed.

        Args:
            round_number: whole number from 0 to 2147483647; the same number always shows the same round
            model: "improved" (the served generator, the default) or "tutorial"

        Returns:
            PNG of the round's 8 digits in two rows, numbered 1 to 8, and a sentence of what to do
        """
        game_round = round_for(round_number, model)
        name = file_name(model, f"round{game_round.number}.png")
        prompt = (
            f"**Round {game_round.number}** ({model}). Which are real? Tick them below, then reveal. "
            f"Share this round: `?view=game&round={game_round.number}`"
        )
        return ctx.outputs.write(png_bytes(round_picture(game_round)), name), prompt

    @shown_to_user
    def game_reveal(round_number, real_ones, model="improved"):
        """The answers of a round of "Be the discriminator", with D's verdict on each digit.

        Args:
            round_number: the round's number, as game_round took it
            real_ones: the digits you call real, by their numbers "1" to "8"; the others you call generated
            model: "improved" (the served generator, the default) or "tutorial"

        Returns:
            PNG of the round with the truth and D's score under each digit, framed blue where your
            call was right and orange where it was wrong; the tally of you against D; and a table
            with, per digit: its number, the truth, your call, D's score, D's call
        """
        calls = check_calls(real_ones)
        game_round = round_for(round_number, model)
        result = reveal(game_round, calls, ctx.critics[model])
        name = file_name(model, f"round{game_round.number}_revealed.png")
        picture = ctx.outputs.write(png_bytes(result.picture), name)
        return picture, result.summary, result.table

    return game_round, game_reveal


def new_round_number() -> int:
    return random.randint(0, MAX_SEED)


def build(ctx: Context) -> dict:
    game_round, game_reveal = endpoints(ctx)
    gr.Markdown(INTRO)
    missing = None
    if missing_data(ctx):
        missing = f"The real digits are MNIST's test images. {missing_data(ctx)}"
    elif not ctx.critics["improved"].available:
        missing = (f"D's scores of the served model are not available: {ctx.critics['improved'].missing}. "
                   "Pick the tutorial model to play against its D.")  # fmt: skip
    if missing:
        gr.Markdown(f"**Note.** {missing}", elem_id="game-unavailable")
    with gr.Row():
        round_number = gr.Number(value=1, label="round", minimum=0, maximum=MAX_SEED, step=1, precision=0,
                                 scale=2, elem_id="game-round-number")  # fmt: skip
        new_round = gr.Button("New round", scale=1, elem_id="game-new",
                              interactive=ctx.nearest.configured)  # fmt: skip
        model = model_choice(ctx)
    prompt = gr.Markdown(
        "Press **New round** for a round of digits.", label="what to do", elem_id="game-prompt"
    )
    digits = gr.Image(interactive=False, label="the round's digits", show_label=False, type="filepath",
                      format="png", buttons=["download"], elem_id="game-digits")  # fmt: skip
    calls = gr.CheckboxGroup(LABELS, label="which are real?", elem_id="game-calls")
    # Reveal waits for a round on screen: before one, it would reveal a round nobody has seen.
    show = gr.Button("Reveal", variant="primary", elem_id="game-reveal", interactive=False)
    revealed = gr.Image(interactive=False, label="the answers", show_label=False, type="filepath",
                        format="png", buttons=["download"], elem_id="game-revealed")  # fmt: skip
    summary = gr.Markdown(label="tally", elem_id="game-tally")
    # Widths shared out so that all five columns fit a phone's 324 px (left to itself, "#" took 60).
    table = gr.Dataframe(headers=TABLE_HEADERS, label="each digit", interactive=False, elem_id="game-table",
                         column_widths=["12%", "20%", "26%", "20%", "22%"])  # fmt: skip
    redraw = {"api_visibility": "private", "preprocess": False, "trigger_mode": "always_last"}
    round_inputs, round_outputs = [round_number, model], [digits, prompt]
    answer_outputs = [calls, revealed, summary, table]

    def clear():  # a new round clears the last one's calls and answers: no answer beside other digits
        return [], None, "", None

    # The round's endpoint: a changed number or model draws its round (a new round too, below).
    changed = [round_number.input, model.input]
    gr.on(changed, game_round, round_inputs, round_outputs, api_name="game_round", preprocess=False,
          trigger_mode="always_last").then(clear, None, answer_outputs, api_visibility="private")  # fmt: skip
    new_round.click(new_round_number, None, round_number, api_visibility="private").then(
        game_round, round_inputs, round_outputs, **redraw
    ).then(clear, None, answer_outputs, api_visibility="private")
    shows_its_answer(new_round, "game-digits")
    digits.change(
        lambda shown: gr.Button(interactive=shown is not None), digits, show, api_visibility="private"
    )
    show.click(game_reveal, [round_number, calls, model], [revealed, summary, table],
               api_name="game_reveal", preprocess=False)  # fmt: skip
    shows_its_answer(show, "game-revealed")
    return {"round": round_number, "redraw": [(game_round, round_inputs, round_outputs)]}
