"""The race, on the first tab under the answer: both recipes trained from scratch here and now, side
by side for 30 s (gan_core.demo.race), so a visitor sees the answer happen. It is a live run like
the Live training tab's: in its queue, one at a time, ended by the same Stop."""

from __future__ import annotations

import contextlib

import gradio as gr

from gan_core.config import RECIPES
from gan_core.demo.live import MAX_SECONDS, MIN_SECONDS, LiveRunEnded, LiveUpdate
from gan_core.demo.race import RACE_SECONDS, race_settings, run_race
from gan_core.latent import MAX_SEED
from gan_core.runs.plots import recipes_figure
from ui.calls import shown_to_user
from ui.components import shows_its_answer
from ui.context import Context
from ui.protection.live_runs import LIVE_TRAINING, STOPPED
from ui.tabs.live import missing_data

INTRO = (
    "**See it happen.** Both recipes trained from scratch here and now, side by side, from the same "
    "seed, on the Space's CPU: within seconds the tutorial's D(x) runs off towards 1 and D(G(z)) "
    "towards 0, while with R1 both stay near 0.5."
)


def race_line(state: str, last: dict[str, LiveUpdate], seconds: int) -> str:
    shown = [(recipe, last[recipe]) for recipe in RECIPES if recipe in last]
    runs = "; ".join(
        f"{recipe}: step {update.step:,}, D(x) = {update.d_x:.3f}, D(G(z)) = {update.d_g_z:.3f}"
        for recipe, update in shown
    )
    elapsed = max((update.seconds for update in last.values()), default=0)
    return f"**{state}** after {elapsed:.0f} of {seconds} s. {runs or 'Starting both runs…'}"


def race_numbers(state: str, last: dict[str, LiveUpdate], seed: int) -> dict:
    """The race's numbers as data, for code: each recipe's last update in figures."""
    fields = ("step", "epoch", "seconds", "steps_per_second", "d_x", "d_g_z", "d_loss", "g_loss")
    runs = {recipe: {name: round(getattr(last[recipe], name), 4) for name in fields}
            for recipe in RECIPES if recipe in last}  # fmt: skip
    return {"state": state, "seed": seed, **runs}


def endpoints(ctx: Context):
    @shown_to_user
    def race(seconds=RACE_SECONDS, seed=0):
        """Train both recipes from scratch side by side, from the same seed, and stream both.

        Args:
            seconds: how long each trains, 5 to 120 (default 30)
            seed: random seed for both runs' weights, batches and 64 fixed noise vectors

        Returns:
            a stream of: the tutorial recipe's fixed-noise grid (PNG), the improved recipe's, both
            runs' D(x) and D(G(z)) so far against 0.5, a line with each run's step and scores, and
            the same as data (state "racing", "done", "stopped" or "ended"; per recipe: step,
            epoch, seconds, steps_per_second, d_x, d_g_z, d_loss, g_loss)
        """
        settings = race_settings(seconds, seed)
        seconds, seed = settings["tutorial"].seconds, settings["tutorial"].seed
        audience = ctx.live_runs.audience()
        rows = {recipe: [] for recipe in RECIPES}
        grids, last, shown = dict.fromkeys(RECIPES), {}, (None, None, None)
        try:
            # closing(): a cancel or a closed tab closes the race, and with it both children
            with contextlib.closing(
                run_race(ctx.nearest.data_folder, settings, audience.ended, audience.watched)
            ) as runs:
                for recipe, update in runs:
                    last[recipe] = update
                    rows[recipe].append({"seconds": update.seconds, "d_x": update.d_x, "d_g_z": update.d_g_z})
                    grids[recipe] = ctx.outputs.write(
                        update.grid_png, f"mnist-gan_race_{recipe}_seed{seed}.png"
                    )
                    # Narrow: one figure streamed, readable on a phone and beside the grids alike.
                    runs_so_far = {name: {"epochs": rows[name]} for name in RECIPES}
                    figure = recipes_figure(runs_so_far, by="seconds", narrow=True)
                    shown = grids["tutorial"], grids["improved"], figure
                    state = (
                        "done"
                        if len(last) == len(RECIPES) and all(u.done for u in last.values())
                        else "racing"
                    )
                    yield *shown, race_line(state, last, seconds), race_numbers(state, last, seed)
        except LiveRunEnded as ended:  # stopped, or nobody watches: what was drawn stays
            state = "stopped" if str(ended) == STOPPED else "ended"
            reason = "" if state == "stopped" else f" ({ended})"
            yield *shown, race_line(state, last, seconds) + reason, race_numbers(state, last, seed)

    return (race,)


def build(ctx: Context) -> None:
    (race,) = endpoints(ctx)
    with gr.Column(elem_id="race"):  # one block, from its intro to its numbers
        gr.Markdown(INTRO)
        missing = missing_data(ctx)
        if missing:  # said before any button is pressed, and the buttons cannot be
            gr.Markdown(f"**Not available here.** {missing}", elem_id="race-unavailable")
        with gr.Row():
            seconds = gr.Slider(
                MIN_SECONDS,
                MAX_SECONDS,
                value=RACE_SECONDS,
                step=1,
                precision=0,
                label="seconds",
                elem_id="race-seconds",
            )
            seed = gr.Number(value=0, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0)
        with gr.Row():
            start = gr.Button(
                "Race both recipes", variant="primary", elem_id="race-start", interactive=not missing
            )
            stop = gr.Button("Stop", variant="stop", elem_id="race-stop", interactive=not missing)
        status = gr.Markdown(label="status", elem_id="race-status")
        # Side by side on a phone too (each at least 120 px): stacked, the two grids never shared a
        # screen, and the race is about seeing both at once.
        with gr.Row():
            tutorial = gr.Image(interactive=False, label="tutorial: G(fixed noise)", type="filepath",
                                min_width=120, elem_id="race-tutorial")  # fmt: skip
            improved = gr.Image(interactive=False, label="improved: G(fixed noise)", type="filepath",
                                min_width=120, elem_id="race-improved")  # fmt: skip
        plot = gr.Plot(label="both runs' scores so far", show_label=False, elem_id="race-plot")
        with gr.Accordion("the numbers, as the API gives them", open=False):
            figures = gr.JSON(label="numbers", elem_id="race-numbers")
    start.click(
        race,
        [seconds, seed],
        [tutorial, improved, plot, status, figures],
        api_name="race",
        preprocess=False,
        concurrency_limit=1,  # live runs are one at a time for everyone, the race included
        concurrency_id=LIVE_TRAINING,
    )
    stop.click(ctx.live_runs.stop, None, status, api_visibility="private")
    shows_its_answer(start, "race-status")
