"""The "Live training" tab: a fresh GAN trained in the Space for a minute, streamed as it learns
(gan_core.demo.live runs it in a child process with one CPU thread). A run lasts only while someone
watches it: ui/protection/live_runs.py asks the queue, and its Stop ends the visitor's run."""

from __future__ import annotations

import contextlib

import gradio as gr

from gan_core.config import RECIPES
from gan_core.demo.live import (
    DEFAULT_SECONDS,
    MAX_BATCH,
    MAX_LR,
    MAX_SECONDS,
    MIN_BATCH,
    MIN_LR,
    MIN_SECONDS,
    LiveRunEnded,
    LiveSettings,
    LiveUpdate,
)
from gan_core.demo.nearest import HOW_TO_ENABLE
from gan_core.latent import MAX_SEED
from gan_core.runs.plots import scores_figure
from ui.calls import shown_to_user
from ui.components import shows_its_answer
from ui.context import Context
from ui.protection.live_runs import LIVE_TRAINING, STOPPED

INTRO = (
    "**Watch it learn.** A new GAN, trained from scratch here and now for up to two minutes on the "
    "MNIST training images, with the step train.py runs. Every second: the generator's digits for "
    "the same 64 noise vectors, the discriminator's scores D(x) and D(G(z)) against the 0.5 of the "
    "tutorial's claim, the losses, and the speed. Train the tutorial's recipe, then the improved one: "
    "the tutorial's D(x) runs off towards 1 while D(G(z)) falls; with R1 both stay near 0.5. One run "
    "at a time (the others wait their turn), on one CPU thread; nothing is saved."
)


def status_line(update: LiveUpdate, settings: LiveSettings) -> str:
    state = "done" if update.done else "training"
    return (
        f"**{state}** ({settings.recipe}): step {update.step:,} ({update.epoch:.2f} epochs) after "
        f"{update.seconds:.0f} of {settings.seconds} s, {update.steps_per_second:.0f} steps/s. "
        f"Last second: D(x) = {update.d_x:.3f}, D(G(z)) = {update.d_g_z:.3f}, "
        f"D loss = {update.d_loss:.3f}, G loss = {update.g_loss:.3f}."
    )


def ended_line(reason: str, update: LiveUpdate | None, settings: LiveSettings) -> str:
    kept = (
        f" What it learned by step {update.step:,} ({update.epoch:.2f} epochs, {update.seconds:.0f} s) "
        "is kept above."
        if update is not None
        else " It had not trained yet."
    )
    run = f"{settings.recipe}, seed {settings.seed}"
    if reason == STOPPED:
        return f"**stopped** ({run}).{kept}"
    return f"**ended** ({run}): {reason}.{kept}"


def numbers(update: LiveUpdate | None, settings: LiveSettings, state: str) -> dict:
    """The run's numbers as data, for code: what the status line says in words."""
    figures = {} if update is None else {
        name: round(getattr(update, name), 4)
        for name in ("epoch", "seconds", "steps_per_second", "d_x", "d_g_z", "d_loss", "g_loss")
    }  # fmt: skip
    return {"state": state, "recipe": settings.recipe, "seed": settings.seed,
            "step": 0 if update is None else update.step, **figures}  # fmt: skip


def missing_data(ctx: Context) -> str | None:
    """Why this app can never train live (no MNIST configured), or None."""
    return None if ctx.nearest.configured else HOW_TO_ENABLE


def endpoints(ctx: Context):
    @shown_to_user
    def train_live(recipe, seconds, seed, lr=2e-4, batch_size=100):
        """Train a fresh GAN in the Space for a set time and stream its progress, about once a
        second. One run at a time; the others wait in the queue.

        Args:
            recipe: "improved" (with the R1 penalty) or "tutorial" (the tutorial's training)
            seconds: how long to train, 5 to 120
            seed: random seed for the weights, the batches and the 64 fixed noise vectors
            lr: Adam learning rate of both networks, 1e-05 to 0.001 (the tutorial's: 0.0002)
            batch_size: images per step, 16 to 512 (the tutorial's: 100)

        Returns:
            a stream of: the fixed-noise grid (PNG), the D(x)/D(G(z)) and loss curves so far,
            a line with the step, epochs, speed and the last second's means, and the same numbers
            as data (state "training", "done", "stopped" or "ended"; step, epoch, seconds,
            steps_per_second, d_x, d_g_z, d_loss, g_loss)
        """
        settings = LiveSettings.checked(recipe, seconds, seed, lr, batch_size)
        audience = ctx.live_runs.audience()
        rows, last, shown = [], None, (None, None)
        try:
            # closing(): a cancel or a closed tab closes this generator, and with it the child
            with contextlib.closing(
                ctx.live_trainer.run(settings, audience.ended, audience.watched)
            ) as updates:
                for last in updates:
                    rows.append({"step": last.step, "d_x": last.d_x, "d_g_z": last.d_g_z,
                                 "d_loss": last.d_loss, "g_loss": last.g_loss})  # fmt: skip
                    grid = ctx.outputs.write(
                        last.grid_png, f"mnist-gan_live_{settings.recipe}_seed{settings.seed}.png"
                    )
                    shown = grid, scores_figure({"epochs": rows}, by="step", narrow=True)
                    state = "done" if last.done else "training"
                    yield *shown, status_line(last, settings), numbers(last, settings, state)
        except LiveRunEnded as ended:  # stopped, or nobody watches: what was drawn stays
            state = "stopped" if str(ended) == STOPPED else "ended"
            yield *shown, ended_line(str(ended), last, settings), numbers(last, settings, state)

    return (train_live,)


def build(ctx: Context) -> None:
    (train_live,) = endpoints(ctx)
    gr.Markdown(INTRO)
    missing = missing_data(ctx)
    if missing:  # said before any button is pressed, and the buttons cannot be
        gr.Markdown(f"**Not available here.** {missing}", elem_id="live-unavailable")
    with gr.Row():
        recipe = gr.Radio(list(RECIPES), value="tutorial", label="recipe", elem_id="live-recipe",
                          info="the tutorial's, or with the R1 penalty")  # fmt: skip
        seconds = gr.Slider(MIN_SECONDS, MAX_SECONDS, value=DEFAULT_SECONDS, step=1, precision=0,
                            label="seconds")  # fmt: skip
        seed = gr.Number(value=0, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0,
                         elem_id="live-seed")  # fmt: skip
    with gr.Accordion("learning rate and batch size", open=False):
        with gr.Row():
            lr = gr.Number(value=2e-4, label="learning rate", minimum=MIN_LR, maximum=MAX_LR)
            batch_size = gr.Slider(MIN_BATCH, MAX_BATCH, value=100, step=1, precision=0, label="batch size")
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="live-start", interactive=not missing)
        stop = gr.Button("Stop", variant="stop", elem_id="live-stop", interactive=not missing)
    status = gr.Markdown(label="status", elem_id="live-status")
    with gr.Row():
        grid = gr.Image(
            interactive=False, label="G(fixed noise)", type="filepath", elem_id="live-grid", scale=1
        )
        plot = gr.Plot(label="scores so far", show_label=False, elem_id="live-plot", scale=2)
    with gr.Accordion("the numbers, as the API gives them", open=False):
        figures = gr.JSON(label="numbers", elem_id="live-numbers")
    start.click(
        train_live,
        [recipe, seconds, seed, lr, batch_size],
        [grid, plot, status, figures],
        api_name="train_live",
        preprocess=False,
        concurrency_limit=1,  # one run at a time, for all visitors
        concurrency_id=LIVE_TRAINING,
    )
    # Not cancels=[run]: the run ends itself on the Stop, and says "stopped" with what it drew kept.
    stop.click(ctx.live_runs.stop, None, status, api_visibility="private")
    shows_its_answer(start, "live-status")  # the status line, then the grid and the curves under it
