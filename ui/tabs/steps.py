"""One step at a time, under Live training: a run paused between steps, stepped by the visitor (or
played, PLAY_STRIDE steps a tick, and paused), with D's scores on a fixed set of real and generated
digits after each (gan_core.demo.steps)."""

from __future__ import annotations

import gradio as gr

from gan_core.config import RECIPES
from gan_core.demo.sampler import whole_number
from gan_core.demo.steps import MAX_STEPS, PROBE, StepView
from gan_core.images import png_bytes
from gan_core.latent import MAX_SEED
from ui.calls import shown_to_user
from ui.components import shows_its_answer
from ui.context import Context
from ui.protection.live_runs import STEPPING, LastPress
from ui.tabs.live import missing_data

INTRO = (
    "**One step at a time.** Training paused between steps: each press runs one step, one update of D "
    f"and then one of G on a batch of 100, and shows D's scores on the same {PROBE} real and {PROBE} "
    "generated digits. Watch the tutorial's D pull the two rows apart, and R1 hold them near 0.5. "
    "**Play** steps on by itself, **Pause** stops it where it is."
)
# Play: a tick every PLAY_EVERY seconds moves PLAY_STRIDE steps on, each tick its own short call in
# the stepping queue (so a visitor playing never holds it for long), and a tick that comes while the
# last is still drawing is dropped (trigger_mode "once"): 0 to MAX_STEPS in about 25 s.
PLAY_EVERY, PLAY_STRIDE = 0.5, 10


def step_line(view: StepView) -> str:
    real, fake = sum(view.real_scores) / PROBE, sum(view.fake_scores) / PROBE
    shown = f"D's mean score on the digits below: {real:.3f} for the real, {fake:.3f} for the generated."
    if view.last_step is None:
        return f"**Step 0** ({view.recipe}, seed {view.seed}): the networks as initialised. {shown}"
    last = view.last_step
    return (
        f"**Step {view.steps}** ({view.recipe}, seed {view.seed}). On its batch: D(x) = {last['d_x']:.3f}, "
        f"D(G(z)) = {last['d_g_z']:.3f}, D loss = {last['d_loss']:.3f}, G loss = {last['g_loss']:.3f}. "
        f"{shown}"
    )


def endpoints(ctx: Context):
    @shown_to_user
    def train_steps(recipe="tutorial", seed=0, steps=0):
        """A GAN after a given number of training steps, and D's scores on fixed digits then: the same
        recipe, seed and steps give the same answer (one more step is steps + 1).

        Args:
            recipe: "tutorial" (the tutorial's training) or "improved" (with the R1 penalty)
            seed: random seed for the weights, each step's batch and noise, and the digits shown
            steps: training steps, 0 (as initialised) to 500; each is one D update and one G update

        Returns:
            PNG of 8 real MNIST digits (top) and 8 of G's (below), D's score under each; a line with
            the last step's losses and scores; and the same as data (recipe, seed, steps, last_step,
            real_scores, fake_scores)
        """
        view = ctx.stepper.view(recipe, seed, steps)
        name = f"mnist-gan_steps_{view.recipe}_seed{view.seed}_step{view.steps}.png"
        numbers = {
            "recipe": view.recipe,
            "seed": view.seed,
            "steps": view.steps,
            "last_step": None
            if view.last_step is None
            else {k: round(v, 4) for k, v in view.last_step.items()},
            "real_scores": [round(score, 4) for score in view.real_scores],
            "fake_scores": [round(score, 4) for score in view.fake_scores],
        }
        return ctx.outputs.write(png_bytes(view.picture), name), step_line(view), numbers

    return (train_steps,)


def player_is(playing: bool) -> tuple:
    """The timer and the two buttons, playing or paused: one button live at a time."""
    return gr.Timer(active=playing), gr.Button(interactive=not playing), gr.Button(interactive=playing)


def played(train_steps, paused: LastPress):
    """One tick of Play: PLAY_STRIDE steps on from the steps shown, drawn; at MAX_STEPS it stops.
    A tick sent just before the timer went off (it is the browser's, and Pause's answer takes a round
    trip) can reach the server after the Pause: it reads the visitor's last press and draws nothing,
    so Pause stops where it was pressed."""

    def play_on(recipe, seed, steps, request: gr.Request):
        if paused.get(request.session_hash, False):
            return (gr.skip(),) * 7
        try:
            count = min(whole_number(steps, "steps", 0, MAX_STEPS) + PLAY_STRIDE, MAX_STEPS)
            picture, line, numbers = train_steps(recipe, seed, count)
        except (ValueError, gr.Error) as error:  # stopped, not raised: each next tick would meet it too
            return gr.skip(), gr.skip(), f"**Play stopped**: {error}", gr.skip(), *player_is(False)
        if count == MAX_STEPS:
            line += f" The stepped run ends here, at step {MAX_STEPS}; Live training above runs on."
            return count, picture, line, numbers, *player_is(False)
        # The controls are left as they are: a Pause pressed while this tick ran has turned them off.
        return count, picture, line, numbers, gr.skip(), gr.skip(), gr.skip()

    return play_on


def build(ctx: Context) -> None:
    (train_steps,) = endpoints(ctx)
    missing = missing_data(ctx)
    with gr.Accordion("One step at a time", open=False, elem_id="steps"):
        gr.Markdown(INTRO)
        with gr.Row():
            recipe = gr.Radio(list(RECIPES), value="tutorial", label="recipe", elem_id="steps-recipe")
            seed = gr.Number(value=0, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0)
            steps = gr.Number(value=0, label="steps", minimum=0, maximum=MAX_STEPS, step=1, precision=0,
                              elem_id="steps-count")  # fmt: skip
        # One row of five short buttons, which a phone keeps on a line or two (stacked one above the
        # other, they pushed the digits off its screen).
        with gr.Row():
            small = {"min_width": 64, "size": "sm"}
            play = gr.Button(
                "Play", variant="primary", elem_id="steps-play", interactive=not missing, **small
            )
            pause = gr.Button("Pause", elem_id="steps-pause", interactive=False, **small)
            one = gr.Button("+1 step", elem_id="steps-one", interactive=not missing, **small)
            ten = gr.Button("+10 steps", elem_id="steps-ten", interactive=not missing, **small)
            restart = gr.Button("Step 0", elem_id="steps-restart", interactive=not missing, **small)
        status = gr.Markdown("Press **+1 step** to train one step and see D's scores.", label="status",
                             elem_id="steps-status")  # fmt: skip
        picture = gr.Image(interactive=False, label="D's scores", show_label=False, type="filepath",
                           format="png", buttons=["download"], elem_id="steps-picture")  # fmt: skip
        with gr.Accordion("the step's numbers, as the API gives them", open=False):
            numbers = gr.JSON(label="numbers", elem_id="steps-numbers")
        player = gr.Timer(PLAY_EVERY, active=False)
    inputs, outputs = [recipe, seed, steps], [picture, status, numbers]
    # The public endpoint: a changed recipe, seed or step count draws that moment of training.
    one_at_a_time = {"concurrency_limit": 1, "concurrency_id": STEPPING}  # see ui/protection/live_runs.py
    gr.on([recipe.input, seed.input, steps.input], train_steps, inputs, outputs, api_name="train_steps",
          preprocess=False, trigger_mode="always_last", **one_at_a_time)  # fmt: skip
    redraw = {
        "api_visibility": "private",
        "preprocess": False,
        "trigger_mode": "always_last",
        **one_at_a_time,
    }
    for button, change in ((one, 1), (ten, 10), (restart, None)):
        moved = lambda count, by=change: 0 if by is None else min(int(count or 0) + by, MAX_STEPS)
        button.click(moved, steps, steps, api_visibility="private").then(
            train_steps, inputs, outputs, **redraw
        )
        shows_its_answer(button, "steps-picture")
    # Play and Pause: the timer on or off, and the steps field is where Play stands (so a pause keeps
    # the step count, and Play goes on from it, or from wherever +1, +10 or "Step 0" moved it).
    controls, paused = [player, play, pause], LastPress()

    def pressed(playing: bool):
        def press(request: gr.Request):
            if request.session_hash:
                paused.press(request.session_hash, not playing)
            return player_is(playing)

        return press

    play.click(pressed(True), None, controls, api_visibility="private")
    ticked = player.tick(played(train_steps, paused), inputs, [steps, *outputs, *controls],
                         **{**redraw, "trigger_mode": "once"})  # fmt: skip
    # Pause drops a tick still drawing, so the steps it shows are the last drawn before the press.
    pause.click(pressed(False), None, controls, api_visibility="private", cancels=[ticked])
    shows_its_answer(play, "steps-picture")
