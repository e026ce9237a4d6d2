"""The page: its header and tabs (build_demo), its queue and its limits per visitor, the middleware
in front of it (request_limits), its CSS, and how it is served (serve). app.py's main() builds it
and serves it; the tests serve it the same way, in their own process."""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from gan_core.messages import markdown_text
from gan_core.runs.history import epoch_count
from ui.calls import call_signatures
from ui.context import Context
from ui.links import follow as follow_links
from ui.protection.live_runs import LIVE_TRAINING, STEPPING, STEPPING_PER_VISITOR, STEPPING_WAITING
from ui.protection.mcp_answers import mcp_answers_without_paths
from ui.protection.request_limits import RequestLimits
from ui.protection.session_limits import limit_calls_per_visitor
from ui.sections import ANSWER, EXPLORE, GAME, HOW, IDS, TRAINING
from ui.tabs import (
    compare,
    game,
    generate,
    how_it_works,
    interpolate,
    latent_map,
    live,
    nearest,
    race,
    scores,
    steps,
)

# A request body is a few numbers; 64 KB leaves room for any client and keeps floods small.
MAX_REQUEST_BYTES = 64 * 1024

# On a phone each fixed plot is its narrow version (panels stacked, text 10 px), never a stamp.
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
/* Each fixed plot is drawn twice (ui/components.fixed_plots): wide for a desktop, narrow for a phone. */
.phone-plot { display: none !important; }
@media (max-width: 640px) {
  .wide-plot { display: none !important; }
  .phone-plot { display: block !important; }
  #samples-gallery .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
  /* The five top-level tabs fit a phone's width: none hides behind a "More tabs" menu. */
  .tab-container button { padding-left: 4px !important; padding-right: 4px !important; }
  /* Code in the text (How it works's loading snippet) wraps rather than scroll sideways. */
  .prose pre, .prose pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
}
"""


def header(ctx: Context) -> str:
    model = ctx.model
    # The source and the notice quote a folder, a repo or a file's content: text, never Markdown.
    text = (
        f"# MNIST GAN\nThe vanilla GAN of a well-known PyTorch tutorial: two small MLPs trained "
        f"adversarially on MNIST. Model: **{markdown_text(model.source)}**, {ctx.served_label}, "
        f"{epoch_count(model.history)} epochs."
    )
    if model.notice:
        # Long enough for a notice's folder, file and reason: it is cut only as a guard against a
        # file that would put megabytes into every page.
        text += f"\n\n> ⚠️ {markdown_text(model.notice, limit=1000)}"
    return text


def build_demo(ctx: Context) -> gr.Blocks:
    """The page, queued and limited: each tab lays itself out and registers its endpoints."""
    # delete_cache: Gradio deletes the answers it served after an hour too (the page's first images
    # aside), and all of them at exit. The first images the tabs draw here are kept for good.
    with gr.Blocks(title="MNIST GAN", delete_cache=(600, 3600)) as demo, ctx.outputs.kept_for_good():
        gr.Markdown(header(ctx))
        # Five top-level tabs (ui/sections.py), so that a phone shows them all; the first answers the
        # question the tutorial's readers come with. Each tab has the id a shareable link names it by
        # (ui/links.py: /?view=generate&seed=42).
        links = {}
        with gr.Tabs() as sections:
            with gr.Tab(ANSWER, id=IDS[ANSWER]):
                links["answer"] = compare.build(ctx)
                race.build(ctx)
            with gr.Tab(EXPLORE, id=IDS[EXPLORE]), gr.Tabs() as explore:
                with gr.Tab("Generate", id=IDS["Generate"]):
                    links["generate"] = generate.build(ctx)
                with gr.Tab("Interpolate", id=IDS["Interpolate"]):
                    links["interpolate"] = interpolate.build(ctx)
                with gr.Tab("Latent map", id=IDS["Latent map"]):
                    links["latent-map"] = latent_map.build(ctx)
                with gr.Tab("Nearest images", id=IDS["Nearest images"]) as tab:
                    links["nearest"] = nearest.build(ctx, tab)
            with gr.Tab(GAME, id=IDS[GAME]):
                links["game"] = game.build(ctx)
            with gr.Tab(TRAINING, id=IDS[TRAINING]), gr.Tabs() as training:
                with gr.Tab("Training scores", id=IDS["Training scores"]):
                    scores.build(ctx, demo)
                with gr.Tab("Live training", id=IDS["Live training"]):
                    live.build(ctx)
                    steps.build(ctx)
            with gr.Tab(HOW, id=IDS[HOW]):
                how_it_works.build(ctx)
        follow_links(demo, sections, {IDS[EXPLORE]: explore, IDS[TRAINING]: training}, links)
    # preprocess=False on every event: the raw values reach gan_core's own checks, so a string, a
    # NaN or an out-of-range number gets the same clear message from the UI and from any client.
    limit(demo, ctx)
    return demo


def limit(demo: gr.Blocks, ctx: Context) -> None:
    settings = ctx.settings
    # Bounded: a busy public Space answers "queue full" (HTTP 503) instead of piling up work; two
    # concurrent generator calls per event keep a 2-vCPU Space responsive. One visitor may have at
    # most MAX_CALLS_PER_VISITOR calls waiting or running, so one client cannot fill the queue.
    demo.queue(max_size=settings.queue_max_size, default_concurrency_limit=2)
    # Live training is one run at a time for everyone: a visitor may have one run waiting or running,
    # and all visitors together LIVE_RUNS_WAITING (default 3), so runs cannot fill the shared queue.
    # On a Space (SPACE_ID is set) the caller's address is the one Hugging Face's proxy adds.
    limit_calls_per_visitor(
        demo._queue,
        settings.max_calls_per_visitor,
        per_group={LIVE_TRAINING: 1, STEPPING: STEPPING_PER_VISITOR},
        group_totals={LIVE_TRAINING: settings.live_runs_waiting, STEPPING: STEPPING_WAITING},
        behind_proxy=settings.behind_proxy,
    )
    ctx.live_runs.follow(demo._queue)  # a live run ends when stopped, cancelled or no longer read


def request_limits(demo: gr.Blocks) -> Middleware:
    """The middleware in front of the page: bodies bounded, and each /call/<name> checked against
    the values its endpoint takes (the model may be left out: client code from before it existed)."""
    return Middleware(RequestLimits, max_body_bytes=MAX_REQUEST_BYTES, arity=call_signatures(demo))


def serve(demo: gr.Blocks, ctx: Context, **options) -> None:
    """Index the training images on a daemon thread (the page serves meanwhile), then launch the
    page with its limits. app.py blocks here; the tests pass a port and prevent_thread_lock=True."""
    ctx.nearest.start()
    demo.launch(
        server_name=ctx.settings.server_name,
        max_file_size=0,  # no component takes files
        mcp_server=True,  # the endpoints as MCP tools, at /gradio_api/mcp/
        css=PHONE_CSS,
        app_kwargs={"middleware": [request_limits(demo)], "lifespan": mcp_answers_without_paths(demo)},
        **options,
    )
