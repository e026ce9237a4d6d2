"""The "Training scores" tab: the served run's record (its scores, quality, fixed-noise grids by
epoch, the training film and the per-epoch table)."""

from __future__ import annotations

import logging

import gradio as gr

from gan_core.hub.pull import GridUnreadable
from gan_core.images import png_bytes, upscale
from gan_core.messages import first_line
from gan_core.runs.layout import nearest_sample_epoch
from gan_core.runs.plots import quality_figure, scores_figure
from gan_core.runs.report import TABLE_HEADERS, evenly_spread, quality_summary, score_table, training_summary
from ui.calls import shown_to_user
from ui.components import fixed_plots, shows_its_answer
from ui.context import Context

log = logging.getLogger("mnist_gan_app")
MAX_EPOCH_CHOICES = 300


def endpoints(ctx: Context):
    def training_scores():
        """The served model's training record: one row per epoch with its mean losses and scores
        (D(x), D(G(z))), and the sample-quality figures where they were measured."""
        return score_table(ctx.model.history)

    @shown_to_user
    def training_film():
        """The served model's training as a film: its saved fixed-noise grids (the same 64 noise
        vectors every time) from the first epoch to the last, as a looping GIF, each frame titled with
        its epoch.

        Returns:
            animated GIF of the grids, at most 60 frames evenly spread over the run
        """
        return ctx.outputs.write(ctx.film.film(), "mnist-gan_training-film.gif")

    return training_scores, training_film


PHONE_HEADERS = ["epoch", "D(x)", "D(G(z))", "MNIST-FD"]


def phone_columns(rows: list[list]) -> list[list]:
    """The per-epoch table's columns a phone shows (PHONE_HEADERS), from the whole table's rows."""
    keep = [TABLE_HEADERS.index(name) for name in PHONE_HEADERS]
    return [[row[column] for column in keep] for row in rows]


def grid_at(ctx: Context, epoch):
    chosen = nearest_sample_epoch(ctx.model.grids.epochs, int(epoch))
    if chosen is None:
        return None, "This run saved no sample grids."
    try:
        grid = upscale(ctx.model.grids.image(chosen), 2)  # saved at 1x to keep runs small
    except GridUnreadable as error:  # damaged or foreign: shown as that epoch's missing grid
        return None, str(error)
    except Exception as error:  # a grid fetched from the Hub on demand can fail like any download
        log.warning("could not fetch the grid of epoch %d: %s", chosen, first_line(error))
        return (
            None,
            f"The grid of epoch {chosen} could not be fetched ({first_line(error)}); try again later.",
        )
    path = ctx.outputs.write(png_bytes(grid), f"mnist-gan_epoch{chosen}.png")
    return path, f"Fixed-noise samples after epoch {chosen}."


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


def samples_by_epoch(ctx: Context) -> None:
    """The grid of the last saved epoch, and a control that shows any other."""

    def sample_at(epoch):
        return grid_at(ctx, epoch)

    epochs = ctx.model.grids.epochs
    first_image, first_caption = sample_at(epochs[-1])
    chooser = epoch_chooser(epochs)
    sample_caption = gr.Markdown(first_caption)
    sample_image = gr.Image(interactive=False, value=first_image, label="fixed-noise samples",
                            show_label=False, type="pil", format="png", elem_id="samples-image")  # fmt: skip
    if chooser is not None:
        chooser.input(sample_at, chooser, [sample_image, sample_caption], api_visibility="private",
                      trigger_mode="always_last", show_progress="hidden")  # fmt: skip


def build(ctx: Context, demo: gr.Blocks) -> None:
    """The tab; `demo` is the page, whose load fills the per-epoch table."""
    training_scores, training_film = endpoints(ctx)
    history = ctx.model.history
    gr.Markdown(
        training_summary(history) + " The tutorial claims both scores converge "
        "to 0.5; the dashed line shows where that would be."
    )
    fixed_plots(ctx, "scores-plot", scores_figure, history)
    gr.Markdown(quality_summary(history))
    fixed_plots(ctx, "quality-plot", quality_figure, history)
    if ctx.model.grids.epochs:
        samples_by_epoch(ctx)
    gr.Markdown(
        "**Training as a film**: the same 64 noise vectors after each saved epoch, first to last, "
        "so what changes from frame to frame is only what the generator has learned."
    )
    # A local run's film is ready at once; a Hub run's grids are fetched only when asked for.
    first_film = None
    if ctx.model.grids.epochs and ctx.model.grids.repo_id is None:
        try:
            first_film = training_film()
        except gr.Error as error:  # every saved grid damaged: the button says why when pressed
            log.warning("the training film is not shown: %s", error)
    film_button = gr.Button("Make the film", elem_id="film-button", visible=first_film is None)
    film = gr.Image(
        interactive=False,
        value=first_film,
        label="training film",
        show_label=False,
        type="filepath",
        buttons=["download"],
        elem_id="film-output",
    )
    film_button.click(training_film, None, film, api_name="training_film")
    shows_its_answer(film_button, "film-output")
    # The table twice, as the plots are: all ten columns on a desktop, the four that fit a phone's
    # width there (the page's CSS shows the one that fits; the API gives the whole table).
    table = gr.Dataframe(headers=TABLE_HEADERS, label="per-epoch means", max_height=300,
                         elem_id="scores-table", elem_classes=["wide-plot"])  # fmt: skip
    phone_table = gr.Dataframe(headers=PHONE_HEADERS, label="per-epoch means", max_height=300,
                               elem_id="scores-table-phone", elem_classes=["phone-plot"])  # fmt: skip
    demo.load(training_scores, None, table, api_name="training_scores")
    demo.load(lambda: phone_columns(training_scores()), None, phone_table, api_visibility="private")
