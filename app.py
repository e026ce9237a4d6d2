"""The Gradio demo (a Hugging Face Space): random digits, latent interpolation, training scores.

    python app.py                                   # the bundled weights, on http://127.0.0.1:7860
    python app.py --run runs/mnist-gan              # your own run (MODEL_DIR=runs/mnist-gan does the same)
    MODEL_REPO=you/mnist-gan python app.py          # a generator pushed with train.py --push

Every tab is also an API endpoint for gradio_client: /generate, /interpolate,
/interpolation_strip, /find_digit, /latent_grid, /compare, /training_scores, /training_film, and
with MNIST_DIR (or on a Space) /nearest, /nearest_frame and /train_live. All the logic is in
gan_core; ui/ lays out the page (ui/tabs/, one module per tab), reads the settings once
(ui/settings.py) and keeps a public Space bounded (ui/protection/). Importing this file builds
nothing: main() does, in order: settings -> context -> page -> limits -> launch.
"""

from __future__ import annotations

import signal

from ui.settings import read_settings


def main(argv: list[str] | None = None) -> None:
    settings = read_settings(argv)  # first: it mends the HF_HUB_* settings huggingface_hub reads
    # Imported only now, as they import gradio, and gradio huggingface_hub, which reads the
    # HF_HUB_* timeouts once, when it is imported: a bad one would stop the app with a traceback.
    from ui.app import build_demo, serve
    from ui.context import build_context

    ctx = build_context(settings)  # the models, readers, index, live trainer, output files
    demo = build_demo(ctx)  # the page, its queue and its limits per visitor

    # A Space or `docker stop` sends SIGTERM: stop as Ctrl-C stops Gradio. The outputs go first, in
    # the handler: a stop that lands while Gradio is still starting may not reach the exit hooks.
    def stop_on_sigterm(signum, frame):
        ctx.outputs.remove()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        serve(demo, ctx)
    except KeyboardInterrupt:
        # Once serving, Gradio catches the stop itself; before that (it checks its own URL after the
        # port opens) the stop would surface as a traceback. A stop is a stop either way.
        pass


if __name__ == "__main__":
    main()
