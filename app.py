"""The Gradio demo (a Hugging Face Space): random digits, latent interpolation, training scores.

    python app.py                                   # the bundled weights, on http://127.0.0.1:7860
    python app.py --run runs/mnist-gan              # your own run (MODEL_DIR=runs/mnist-gan does the same)
    MODEL_REPO=you/mnist-gan python app.py          # a generator pushed with train.py --push

Every tab is also an API endpoint for gradio_client: /generate, /interpolate,
/interpolation_strip, /find_digit, /latent_grid, /compare, /training_scores, /training_film, and
with MNIST_DIR (or on a Space) /nearest, /nearest_frame and /train_live. All the logic is in
gan_core; this file and ui/ only lay out the page and turn ValueErrors into messages shown to the
user.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
from dataclasses import dataclass
from pathlib import Path

# isort: off
import gan_core  # noqa: F401  first: it mends HF_HUB_* settings before gradio imports huggingface_hub

# isort: on
import gradio as gr
from gradio.components.plot import PlotData
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from gan_core.digits import DigitReader
from gan_core.explain import (
    LOADING,
    WHY_DETACH,
    WHY_REAL_LABELS,
    compare_intro,
    equilibrium_text,
    generator_loss_source,
    how_it_works_intro,
    model_facts,
    served_label,
    served_recipe,
    step_excerpts,
)
from gan_core.film import FilmMaker
from gan_core.history import History, epoch_count, read_history
from gan_core.images import png_bytes, upscale
from gan_core.latent import MAX_SEED, METHODS
from gan_core.layout import HISTORY_FILE, REAL_IMAGES_FILE, nearest_sample_epoch, sample_path
from gan_core.live import LiveTrainer
from gan_core.loading import (
    GridUnreadable,
    SampleGrids,
    check_repo_id,
    load_generator,
    load_hub_run,
    load_run,
    sample_grids,
)
from gan_core.messages import first_line, markdown_text, shown
from gan_core.models import Generator
from gan_core.nearest import MAX_K, NearestImages, mnist_source
from gan_core.plots import digit_histograms_figure, quality_figure, recipes_figure, scores_figure
from gan_core.quality import load_classifier
from gan_core.report import TABLE_HEADERS, evenly_spread, quality_summary, score_table, training_summary
from gan_core.sampling import MAX_COUNT, MAX_FRAMES, MAX_MAP, MIN_FRAMES, MIN_MAP, Sampler, check_switch
from gan_core.space_settings import whole_setting
from ui.calls import call_signature, shown_to_user
from ui.protection.outputs import OutputFiles
from ui.protection.plot_cache import cache_folder, figure_data_uri
from ui.protection.request_limits import RequestLimits
from ui.protection.session_limits import limit_calls_per_visitor
from ui.tabs.live import LIVE_TRAINING, LiveTab
from ui.tabs.nearest import NearestTab

BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights"
TUTORIAL_RUN = BUNDLED_WEIGHTS / "tutorial"  # the tutorial's recipe, 300 epochs: the comparison
log = logging.getLogger("mnist_gan_app")


@dataclass
class LoadedModel:
    generator: Generator
    history: History
    source: str  # what the header says: "bundled weights" or "user/name @ revision"
    run_dir: Path  # where its files (score plot, sample grids) are
    grids: SampleGrids  # its fixed-noise grids, fetched when first shown
    notice: str | None = None  # why the requested model was not used, when it was not


def load_app_model(environ=os.environ) -> LoadedModel:
    """MODEL_DIR (a local run directory), else MODEL_REPO (at MODEL_REVISION) from the Hub, else the
    bundled weights; a model that cannot be loaded means the bundled weights and a notice saying
    why: a Space must start even when the Hub, the repo or the folder fails it."""
    folder = environ.get("MODEL_DIR", "").strip()
    repo_id = environ.get("MODEL_REPO", "").strip()
    revision = environ.get("MODEL_REVISION", "").strip() or None
    notice = None
    try:
        if folder:
            if not Path(folder).is_dir():
                raise ValueError(f"{folder} is not a folder")
            generator, history = load_generator(folder)
            return LoadedModel(
                generator, history, f"the run in {folder}", Path(folder), sample_grids(Path(folder))
            )
        if repo_id:
            run_dir, generator, history = load_hub_run(check_repo_id(repo_id), revision)
            grids = sample_grids(run_dir, repo_id)
            return LoadedModel(generator, history, f"{repo_id} @ {revision or 'main'}", run_dir, grids)
    except Exception as error:  # unreachable Hub, missing repo, bad files: the demo still starts
        asked = f"MODEL_DIR={folder!r}" if folder else f"MODEL_REPO={repo_id!r}"
        notice = (
            f"could not load {asked}{f' at {revision!r}' if revision and not folder else ''} "
            f"({type(error).__name__}: {first_line(error)}); serving the bundled weights"
        )
    generator, history = load_generator(BUNDLED_WEIGHTS)
    return LoadedModel(
        generator, history, "bundled weights", BUNDLED_WEIGHTS, sample_grids(BUNDLED_WEIGHTS), notice
    )


def model_environment() -> dict:
    """The environment, with `python app.py --run DIR` passed on as MODEL_DIR."""
    environ = dict(os.environ)
    if __name__ == "__main__":
        parser = argparse.ArgumentParser(description="The MNIST GAN demo (a Gradio app).")
        parser.add_argument(
            "--run", metavar="DIR", help="serve the run in this folder (as MODEL_DIR=DIR does)"
        )
        run = parser.parse_args().run
        if run:
            environ["MODEL_DIR"] = run
    return environ


MODEL = load_app_model(model_environment())
if MODEL.notice:
    log.warning(MODEL.notice)
SAMPLER = Sampler(MODEL.generator)
TUTORIAL_GENERATOR, TUTORIAL_HISTORY = load_run(TUTORIAL_RUN)
# "improved" is the served model (the bundled R1 run, or MODEL_REPO / MODEL_DIR when set); "tutorial"
# is the bundled run of the tutorial's own recipe, for comparison.
SAMPLERS = {"improved": SAMPLER, "tutorial": Sampler(TUTORIAL_GENERATOR)}
CLASSIFIER = load_classifier()
READERS = {name: DigitReader(sampler, CLASSIFIER) for name, sampler in SAMPLERS.items()}
SAMPLE_EPOCHS = MODEL.grids.epochs
SERVED_LABEL = served_label(MODEL.history)  # by the run's recorded recipe: "improved" is only the API's name
SERVED_RECIPE_WORDS = {"improved": "with R1", "tutorial": "the tutorial's recipe too"}.get(
    served_recipe(MODEL.history), "recipe not recorded"
)
FILM = FilmMaker(MODEL.grids)
PLOT_CACHE = cache_folder()  # the fixed figures, kept between starts
# In Gradio's own file cache, so that Gradio serves each answer where it is instead of copying it;
# all of them together at most OUTPUT_FILES_MB, the least recently used deleted first.
OUTPUTS = OutputFiles(
    max_bytes=whole_setting("OUTPUT_FILES_MB", 512, high=1_000_000) * 1024 * 1024, parent=get_upload_folder()
)
# A request body is a few numbers; 64 KB leaves room for any client and keeps floods small.
MAX_REQUEST_BYTES = 64 * 1024
# The MNIST training images, for the nearest-image check and live training: MNIST_DIR, or a
# download on a Space; indexed on a background thread once the app is serving.
NEAREST = NearestImages(CLASSIFIER, mnist_source(os.environ))


def sampler_for(model) -> Sampler:
    if not isinstance(model, str) or model not in SAMPLERS:
        raise ValueError(f"model must be one of {', '.join(SAMPLERS)}, got {shown(model)}")
    return SAMPLERS[model]


NEAREST_TAB = NearestTab(NEAREST, sampler_for, OUTPUTS)
nearest, nearest_frame = NEAREST_TAB.endpoints()
LIVE_TAB = LiveTab(LiveTrainer(NEAREST.data_folder), OUTPUTS)
train_live = LIVE_TAB.endpoint()


def file_name(model: str, rest: str) -> str:
    """Download names: the served model's as before, the tutorial's marked as such."""
    return f"mnist-gan{'-tutorial' if model == 'tutorial' else ''}_{rest}"


@shown_to_user
def generate(seed, count, model="improved", captions=False):
    """Draw digits from the GAN: the same seed gives the same digits on every machine.

    Args:
        seed: whole number from 0 to 2147483647 that picks the noise vectors
        count: how many digits, 1 to 64, in rows of 8
        model: "improved" (the served generator, the default) or "tutorial" (the tutorial's recipe)
        captions: true to write under each digit what an MNIST classifier reads there, and how sure it is

    Returns:
        PNG grid of the digits, 4x enlarged with sharp pixels (with a line of caption under each row
        when captions is true)
    """
    sampler = sampler_for(model)
    if check_switch(captions, "captions"):
        image = READERS[model].captioned(seed, count)
        return OUTPUTS.write(png_bytes(image), file_name(model, f"seed{seed}_{count}_captioned.png"))
    image = sampler.generate(seed, count)
    return OUTPUTS.write(png_bytes(image), file_name(model, f"seed{seed}_{count}.png"))


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
    sampler_for(model)  # the message for a bad model, before anything is drawn
    found = READERS[model].find(digit, count, seed)
    path = OUTPUTS.write(png_bytes(found.grid), file_name(model, f"digit{digit}_seed{seed}_{count}.png"))
    return path, found.summary()


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
    sampler = sampler_for(model)
    name = file_name(model, f"map_{seed_a}-{seed_b}-{seed_c}-{seed_d}_{size}")
    if check_switch(tint, "tint"):
        image = READERS[model].tinted_map(seed_a, seed_b, seed_c, seed_d, size)
        return OUTPUTS.write(png_bytes(image), f"{name}_tinted.png")
    image = sampler.latent_map(seed_a, seed_b, seed_c, seed_d, size)
    return OUTPUTS.write(png_bytes(image), f"{name}.png")


@shown_to_user
def compare(seed, count):
    """The same seed through both generators: the improved recipe's and the tutorial's.

    Args:
        seed: whole number from 0 to 2147483647 that picks the noise vectors
        count: how many digits, 1 to 64, in rows of 8

    Returns:
        the improved generator's PNG grid, and the tutorial's, from the same noise
    """
    return tuple(generate(seed, count, model) for model in SAMPLERS)


@shown_to_user
def interpolate(seed_a, seed_b, t, method, model="improved"):
    """The digit at a point between two seeds' noise vectors (the first digit each seed draws).

    Args:
        seed_a: the seed at t = 0
        seed_b: the seed at t = 1
        t: fraction of the way from A to B, 0 to 1
        method: "slerp" (along the sphere the noise lies on) or "lerp" (a straight line)
        model: "improved" (the served generator, the default) or "tutorial"

    Returns:
        PNG of one digit, 12x enlarged
    """
    image = sampler_for(model).interpolate(seed_a, seed_b, t, method)
    return OUTPUTS.write(png_bytes(image), file_name(model, f"{seed_a}-to-{seed_b}_{method}_t{t:.2f}.png"))


@shown_to_user
def interpolation_strip(seed_a, seed_b, frames, method, model="improved"):
    """Evenly spaced digits from seed A to seed B, as one row and as a looping GIF.

    Args:
        seed_a: the seed of the first frame
        seed_b: the seed of the last frame
        frames: how many digits, 2 to 32
        method: "slerp" or "lerp"
        model: "improved" (the served generator, the default) or "tutorial"

    Returns:
        PNG strip of the frames, and an animated GIF of them
    """
    strip, gif = sampler_for(model).strip(seed_a, seed_b, frames, method)
    name = file_name(model, f"{seed_a}-to-{seed_b}_{method}")
    return OUTPUTS.write(png_bytes(strip), f"{name}_{frames}.png"), OUTPUTS.write(gif, f"{name}.gif")


def training_scores():
    """The served model's training record: one row per epoch with its mean losses and scores
    (D(x), D(G(z))), and the sample-quality figures where they were measured."""
    return score_table(MODEL.history)


@shown_to_user
def training_film():
    """The served model's training as a film: its saved fixed-noise grids (the same 64 noise
    vectors every time) from the first epoch to the last, as a looping GIF, each frame titled with
    its epoch.

    Returns:
        animated GIF of the grids, at most 60 frames evenly spread over the run
    """
    return OUTPUTS.write(FILM.film(), "mnist-gan_training-film.gif")


def random_seed():
    return random.randint(0, MAX_SEED)


def sample_at(epoch):
    chosen = nearest_sample_epoch(SAMPLE_EPOCHS, int(epoch))
    if chosen is None:
        return None, "This run saved no sample grids."
    try:
        grid = upscale(MODEL.grids.image(chosen), 2)  # saved at 1x to keep runs small
    except GridUnreadable as error:  # damaged or foreign: shown as that epoch's missing grid
        return None, str(error)
    except Exception as error:  # a grid fetched from the Hub on demand can fail like any download
        log.warning("could not fetch the grid of epoch %d: %s", chosen, first_line(error))
        return (
            None,
            f"The grid of epoch {chosen} could not be fetched ({first_line(error)}); try again later.",
        )
    return OUTPUTS.write(
        png_bytes(grid), f"mnist-gan_epoch{chosen}.png"
    ), f"Fixed-noise samples after epoch {chosen}."


def fixed_plot(make, *inputs) -> PlotData | None:
    """A figure of the served runs, as Gradio's plot data, drawn once per content (plot_cache)."""
    uri = figure_data_uri(make, *inputs, folder=PLOT_CACHE)
    return None if uri is None else PlotData(type="matplotlib", plot=uri)


MAX_EPOCH_CHOICES = 300


def epoch_chooser(epochs: list[int]):
    """A control that stops only at epochs with a saved grid: a slider stepping by the grids'
    spacing when it is even, else a list of them."""
    if len(epochs) < 2:
        return None
    spacings = {later - earlier for earlier, later in zip(epochs, epochs[1:], strict=False)}
    if len(spacings) == 1:
        return gr.Slider(
            epochs[0], epochs[-1], value=epochs[-1], step=spacings.pop(), precision=0, label="epoch"
        )
    # A list of every grid of a long, unevenly sampled run would be in every page's config.
    return gr.Dropdown(evenly_spread(epochs, MAX_EPOCH_CHOICES), value=epochs[-1], label="epoch")


def header() -> str:
    epochs = epoch_count(MODEL.history)
    # The source and the notice quote a folder, a repo or a file's content: text, never Markdown.
    text = (
        f"# MNIST GAN\nThe vanilla GAN of a well-known PyTorch tutorial: two small MLPs trained "
        f"adversarially on MNIST. Model: **{markdown_text(MODEL.source)}**, {SERVED_LABEL}, {epochs} epochs."
    )
    if MODEL.notice:
        text += f"\n\n> ⚠️ {markdown_text(MODEL.notice, limit=400)}"
    return text


def model_choice():
    return gr.Radio(
        list(SAMPLERS),
        value="improved",
        label="model",
        info=f"improved: the served run ({SERVED_RECIPE_WORDS}); tutorial: the tutorial's recipe",
    )


def compare_tab() -> None:
    """The project's main finding, side by side: the same seeds through the tutorial's recipe and
    through the improved one, with what each run measured."""
    gr.Markdown(compare_intro(MODEL.history, TUTORIAL_HISTORY))
    with gr.Row():
        seed = gr.Number(
            value=7, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0, elem_id="compare-seed"
        )
        count = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="count")
    button = gr.Button("Compare", variant="primary", elem_id="compare-button")
    first = compare(7, 16)
    with gr.Row():
        grids = []
        for name, label, history, path in (
            ("improved", SERVED_LABEL, MODEL.history, first[0]),
            ("tutorial", "tutorial", TUTORIAL_HISTORY, first[1]),
        ):
            with gr.Column():
                gr.Markdown(model_facts(label, history))
                grids.append(
                    gr.Image(
                        value=path,
                        label=label,
                        show_label=False,  # the facts above name it; a label chip would cover digits
                        type="filepath",
                        buttons=["download"],
                        elem_id=f"compare-{name}",
                    )
                )
    button.click(compare, [seed, count], grids, api_name="compare", preprocess=False)
    runs = {SERVED_LABEL: MODEL.history, "tutorial": TUTORIAL_HISTORY}
    gr.Plot(fixed_plot(recipes_figure, runs), show_label=False, elem_id="compare-scores-plot")
    histograms = fixed_plot(digit_histograms_figure, runs)
    if histograms is not None:
        gr.Plot(histograms, show_label=False, elem_id="compare-digits-plot")


def how_it_works_tab() -> None:
    """Answers to the questions the tutorial's readers ask: the code of one step (read from
    gan_core), the two losses, and what the two bundled runs measured."""
    improved, tutorial = read_history(BUNDLED_WEIGHTS / HISTORY_FILE), TUTORIAL_HISTORY
    gr.Markdown(how_it_works_intro())
    for title, code in step_excerpts():
        gr.Markdown(f"**{title}**")
        gr.Code(code, language="python", interactive=False, show_label=False, elem_classes="step-code")
    gr.Markdown(WHY_REAL_LABELS)
    gr.Code(generator_loss_source(), language="python", interactive=False, show_label=False)
    gr.Markdown(WHY_DETACH)
    gr.Markdown(equilibrium_text(improved, tutorial))
    figure = fixed_plot(recipes_figure, {"improved (R1)": improved, "tutorial": tutorial})
    gr.Plot(figure, show_label=False, elem_id="recipes-plot")
    gr.Markdown(
        "**What do good samples look like?** Each recipe's fixed-noise grid (the same 64 noise "
        "vectors at every epoch) as it trains, beside 64 real MNIST digits:"
    )
    grids = [(BUNDLED_WEIGHTS / REAL_IMAGES_FILE, "real MNIST digits")]
    for label, run, epochs in (
        ("improved", BUNDLED_WEIGHTS, (25, 100, 300)),
        ("tutorial", TUTORIAL_RUN, (1, 10, 100, 300)),
    ):
        grids += [
            (sample_path(run, epoch), f"{label}, epoch {epoch}")
            for epoch in epochs
            if sample_path(run, epoch).is_file()
        ]
    gr.Gallery([(str(path), caption) for path, caption in grids], columns=4,
               show_label=False, elem_id="samples-gallery", interactive=False)  # fmt: skip
    gr.Markdown("**Loading the generator:**\n\n" + LOADING)


# delete_cache: Gradio's own copies of the answers go after an hour too, and all of them at exit.
with gr.Blocks(title="MNIST GAN", delete_cache=(600, 3600)) as demo:
    gr.Markdown(header())

    with gr.Tab("Generate"):
        with gr.Row():
            seed = gr.Number(
                value=42, label="seed", minimum=0, maximum=MAX_SEED, step=1, precision=0, scale=3
            )
            dice = gr.Button("🎲 random seed", scale=1)
            count = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="count", scale=3)
        with gr.Row():
            generate_model = model_choice()
            captions = gr.Checkbox(
                False,
                label="captions",
                info="under each digit, what an MNIST classifier reads there and how sure it is",
                elem_id="captions-box",
            )
        generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        grid = gr.Image(
            value=SAMPLER.generate(42, 16),
            label="digits",
            show_label=False,  # a label chip would cover the first digits (the API keeps the name)
            type="pil",
            format="png",
            buttons=["download"],
            elem_id="generate-output",
        )
        generate_inputs = [seed, count, generate_model, captions]
        generate_button.click(generate, generate_inputs, grid, api_name="generate", preprocess=False)
        gr.Examples([[7, 16], [2024, 64], [31337, 8]], [seed, count], label="try these seeds")
        dice.click(random_seed, None, seed, api_visibility="private").then(
            generate, generate_inputs, grid, api_visibility="private", preprocess=False
        )
        for control in (generate_model, captions):
            control.change(generate, generate_inputs, grid, api_visibility="private", preprocess=False)
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
                label="found", show_label=False, type="filepath", buttons=["download"], elem_id="find-output"
            )
            found_text = gr.Markdown(elem_id="find-text")
            find_button.click(
                find_digit,
                [wanted, count, seed, generate_model],
                [found_grid, found_text],
                api_name="find_digit",
                preprocess=False,
            )

    with gr.Tab("Interpolate"):
        with gr.Row():
            seed_a = gr.Number(value=1, label="seed A", minimum=0, maximum=MAX_SEED, step=1, precision=0)
            seed_b = gr.Number(value=2, label="seed B", minimum=0, maximum=MAX_SEED, step=1, precision=0)
            method = gr.Radio(list(METHODS), value="slerp", label="method")
            interpolate_model = model_choice()
        t = gr.Slider(0, 1, value=0.5, step=0.01, label="t: from A (0) to B (1)", elem_id="t-slider")
        digit = gr.Image(
            value=SAMPLER.interpolate(1, 2, 0.5, "slerp"),
            label="G(z(t))",
            type="pil",
            format="png",
            buttons=["download"],
            height=360,
            elem_id="interpolate-output",
        )
        # .input fires while the slider is dragged, not only on release; always_last drops the
        # stale positions a slow request would otherwise queue up.
        live = {"trigger_mode": "always_last", "show_progress": "hidden", "preprocess": False}
        digit_inputs = [seed_a, seed_b, t, method, interpolate_model]
        t.input(interpolate, digit_inputs, digit, api_name="interpolate", **live)
        for control in (seed_a, seed_b, method, interpolate_model):
            control.change(interpolate, digit_inputs, digit, api_visibility="private", **live)
        gr.Examples(
            [[1, 2, "slerp"], [3, 8, "lerp"], [10, 77, "slerp"]],
            [seed_a, seed_b, method],
            label="try these pairs",
        )
        with gr.Row():
            frames = gr.Slider(MIN_FRAMES, MAX_FRAMES, value=10, step=1, precision=0, label="frames")
            strip_button = gr.Button("Make strip and GIF")
        first_strip, first_gif = interpolation_strip(1, 2, 10, "slerp")
        strip = gr.Image(
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
            value=first_gif, label="animated GIF", type="filepath", buttons=["download"], elem_id="strip-gif"
        )
        strip_inputs = [seed_a, seed_b, frames, method, interpolate_model]
        strip_button.click(
            interpolation_strip, strip_inputs, [strip, gif], api_name="interpolation_strip", preprocess=False
        )
        # The strip follows the seeds, the method and the frame count, as the single digit does.
        for control in (seed_a, seed_b, method, frames, interpolate_model):
            control.change(interpolation_strip, strip_inputs, [strip, gif], api_visibility="private", **live)
        with gr.Accordion("Is this frame a copy of a training image?", open=False):
            with gr.Row():
                frame_k = gr.Slider(1, MAX_K, value=8, step=1, precision=0, label="k", scale=3)
                frame_button = gr.Button(
                    "Find the nearest training images",
                    scale=1,
                    elem_id="frame-nearest-button",
                    interactive=NEAREST.source is not None,  # without MNIST, as on its own tab
                )
            frame_image, frame_sentence, frame_table = NEAREST_TAB.outputs_row("frame-nearest")
            frame_button.click(
                nearest_frame,
                [seed_a, seed_b, t, method, frame_k, interpolate_model],
                [frame_image, frame_table, frame_sentence],
                api_name="nearest_frame",
                preprocess=False,
            )

    with gr.Tab("Training scores"):
        gr.Markdown(
            training_summary(MODEL.history) + " The tutorial claims both scores converge "
            "to 0.5; the dashed line shows where that would be."
        )
        gr.Plot(value=fixed_plot(scores_figure, MODEL.history), show_label=False, elem_id="scores-plot")
        gr.Markdown(quality_summary(MODEL.history))
        quality_plot = fixed_plot(quality_figure, MODEL.history)
        if quality_plot is not None:
            gr.Plot(value=quality_plot, show_label=False, elem_id="quality-plot")
        if SAMPLE_EPOCHS:
            first_image, first_caption = sample_at(SAMPLE_EPOCHS[-1])
            chooser = epoch_chooser(SAMPLE_EPOCHS)
            sample_caption = gr.Markdown(first_caption)
            sample_image = gr.Image(
                value=first_image,
                label="fixed-noise samples",
                show_label=False,
                type="pil",
                format="png",
                elem_id="samples-image",
            )
            if chooser is not None:
                chooser.input(
                    sample_at,
                    chooser,
                    [sample_image, sample_caption],
                    api_visibility="private",
                    trigger_mode="always_last",
                    show_progress="hidden",
                )
        gr.Markdown(
            "**Training as a film**: the same 64 noise vectors after each saved epoch, first to last, "
            "so what changes from frame to frame is only what the generator has learned."
        )
        # A local run's film is ready at once; a Hub run's grids are fetched only when asked for.
        film_ready = bool(SAMPLE_EPOCHS) and MODEL.grids.repo_id is None
        film_button = gr.Button("Make the film", elem_id="film-button", visible=not film_ready)
        film = gr.Image(
            value=training_film() if film_ready else None,
            label="training film",
            show_label=False,
            type="filepath",
            buttons=["download"],
            elem_id="film-output",
        )
        film_button.click(training_film, None, film, api_name="training_film")
        table = gr.Dataframe(headers=TABLE_HEADERS, label="per-epoch means", max_height=300)
        demo.load(training_scores, None, table, api_name="training_scores")

    with gr.Tab("Latent map"):
        MAP_CORNERS = (3, 4, 9, 15)  # a 1, a 0, a 6 and a 7: the 8x8 map between them holds all ten
        gr.Markdown(
            "Four seeds at the corners, and the digits between them: the generator lays the ten digits "
            "out in regions of its latent space, and the borders show one turning into another."
        )
        with gr.Row():
            corners = [
                gr.Number(
                    value=value, label=f"seed {corner}", minimum=0, maximum=MAX_SEED, step=1, precision=0
                )
                for value, corner in zip(
                    MAP_CORNERS,
                    ("A (top left)", "B (top right)", "C (bottom left)", "D (bottom right)"),
                    strict=True,
                )
            ]
        with gr.Row():
            size = gr.Slider(MIN_MAP, MAX_MAP, value=8, step=1, precision=0, label="size", scale=3)
            map_model = model_choice()
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
        for control in (map_model, tint):
            control.change(latent_grid, map_inputs, latent_map, api_visibility="private", preprocess=False)

    with gr.Tab("Compare"):
        compare_tab()

    with gr.Tab("Live training"):
        LIVE_TAB.build(train_live)

    with gr.Tab("Nearest images") as nearest_tab:
        nearest_status = NEAREST_TAB.build(nearest, model_choice)
    nearest_tab.select(NEAREST_TAB.status, None, nearest_status, api_visibility="private")

    with gr.Tab("How it works"):
        how_it_works_tab()

# preprocess=False on every event: the raw values reach gan_core's own checks, so a string, a
# NaN or an out-of-range number gets the same clear message from the UI and from any client.

# Bounded: a busy public Space answers "queue full" (HTTP 503) instead of piling up work; two
# concurrent generator calls per event keep a 2-vCPU Space responsive.
# (past 10,000 a queue only hides an overload). One visitor may have at most MAX_CALLS_PER_VISITOR
# calls waiting or running, so one client cannot fill the queue for everyone else.
demo.queue(max_size=whole_setting("QUEUE_MAX_SIZE", 64, high=10_000), default_concurrency_limit=2)
# Live training is one run at a time for everyone: a visitor may have one run waiting or running,
# and all visitors together LIVE_RUNS_WAITING (default 3), so runs cannot fill the shared queue.
# On a Space (SPACE_ID is set) the caller's address is the one Hugging Face's proxy adds.
limit_calls_per_visitor(
    demo._queue,
    whole_setting("MAX_CALLS_PER_VISITOR", 8, high=1_000),
    per_group={LIVE_TRAINING: 1},
    group_totals={LIVE_TRAINING: whole_setting("LIVE_RUNS_WAITING", 3, high=100)},
    behind_proxy=bool(os.environ.get("SPACE_ID")),
)
LIVE_TAB.follow(demo._queue)  # a live run ends when stopped, cancelled or no longer read

# On a phone the plots keep a readable width and scroll sideways, instead of shrinking to stamps.
PHONE_CSS = """
/* An image's download button gets a row of its own above the picture, so that it never covers
   the top-right digits of a grid (on a phone it did). */
.image-container > .icon-button-wrapper.top-panel {
  position: static !important; display: flex; justify-content: flex-end; margin-bottom: 4px;
}
/* The How it works gallery shows every row whole; Gradio's fixed height cut the second in half. */
#samples-gallery .grid-wrap {
  max-height: none !important; height: auto !important; overflow: visible !important;
}
@media (max-width: 640px) {
  #scores-plot, #quality-plot, #recipes-plot, #compare-scores-plot, #compare-digits-plot, #live-plot {
    overflow-x: auto !important;
  }
  #scores-plot .matplotlib, #quality-plot .matplotlib, #recipes-plot .matplotlib,
  #compare-scores-plot .matplotlib, #compare-digits-plot .matplotlib, #live-plot .matplotlib {
    justify-content: flex-start; align-items: flex-start;
  }
  #scores-plot img, #quality-plot img, #recipes-plot img, #compare-scores-plot img,
  #compare-digits-plot img, #live-plot img { min-width: 720px; }
  #samples-gallery .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""


# What a raw /call/<name> must carry; the model may be left out (client code from before it existed).
ENDPOINT_PARAMETERS = {
    function.__name__: call_signature(function)
    for function in (
        generate,
        interpolate,
        interpolation_strip,
        find_digit,
        latent_grid,
        compare,
        training_scores,
        training_film,
        nearest,
        nearest_frame,
        train_live,
    )
}

LIMITS = Middleware(RequestLimits, max_body_bytes=MAX_REQUEST_BYTES, arity=ENDPOINT_PARAMETERS)

if __name__ == "__main__":
    # A Space or `docker stop` sends SIGTERM: stop as Ctrl-C stops Gradio. The outputs go first, in
    # the handler: a stop that lands while Gradio is still starting may not reach the exit hooks.
    def stop_on_sigterm(signum, frame):
        OUTPUTS.remove()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    NEAREST.start()  # a daemon thread: the page serves while the training images are indexed
    try:
        demo.launch(
            server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            max_file_size=0,  # no component takes files
            mcp_server=True,  # the endpoints as MCP tools, at /gradio_api/mcp/
            css=PHONE_CSS,
            app_kwargs={"middleware": [LIMITS]},
        )
    except KeyboardInterrupt:
        # Once serving, Gradio catches the stop itself; before that (it checks its own URL after the
        # port opens) the stop would surface as a traceback. A stop is a stop either way.
        pass
