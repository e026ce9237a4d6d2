"""What the app serves, loaded once by build_context(settings): the models and their samplers, the
digit readers, the nearest-images index, the live trainer, the output files and the figure cache.
Nothing here happens at import: app.py's main() and the tests' app_context fixture call it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gradio.utils import get_upload_folder

from gan_core.demo.critic import Critic, load_critic
from gan_core.demo.digits import DigitReader
from gan_core.demo.explain import served_label, served_recipe
from gan_core.demo.film import FilmMaker
from gan_core.demo.live import LiveTrainer
from gan_core.demo.nearest import NearestImages
from gan_core.demo.sampler import Sampler
from gan_core.demo.steps import Stepper
from gan_core.hub.client import check_repo_id
from gan_core.hub.pull import SampleGrids, load_generator, load_hub_run, sample_grids
from gan_core.messages import first_line, shown
from gan_core.models import Generator
from gan_core.runs.history import History
from gan_core.runs.reading import load_run
from gan_core.training.quality import load_classifier
from ui.protection.live_runs import LiveRuns
from ui.protection.outputs import OutputFiles
from ui.settings import Settings

BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
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

    @property
    def from_hub(self) -> bool:
        return self.grids.repo_id is not None


def load_app_model(environ) -> LoadedModel:
    """MODEL_DIR (a local run directory), else MODEL_REPO (at MODEL_REVISION) from the Hub, else the
    bundled weights; a model that cannot be loaded means the bundled weights and a notice saying
    why: a Space must start even when the Hub, the repo or the folder fails it. `environ` is the
    app's Settings, or a mapping of those environment variables."""
    settings = environ if isinstance(environ, Settings) else Settings.from_environ(environ)
    folder, repo_id, revision = settings.model_dir, settings.model_repo, settings.model_revision
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


@dataclass
class Context:
    settings: Settings
    model: LoadedModel  # the served run
    tutorial_history: History  # the bundled run of the tutorial's own recipe
    # "improved" is the served model (the bundled R1 run, or MODEL_REPO / MODEL_DIR when set);
    # "tutorial" is the bundled run of the tutorial's own recipe, for comparison.
    samplers: dict[str, Sampler]
    readers: dict[str, DigitReader]  # what the classifier reads in each model's digits
    critics: dict[str, Critic]  # each model's discriminator, or why it has none
    nearest: NearestImages  # the MNIST training images, indexed once the app is serving
    live_trainer: LiveTrainer
    stepper: Stepper  # training one step at a time, for the Live training tab
    live_runs: LiveRuns  # which live runs are still wanted (stopped, cancelled, unread)
    outputs: OutputFiles  # every file handed out
    film: FilmMaker  # the served run's training film, made once

    @property
    def served_label(self) -> str:
        """The served run by its recorded recipe: "improved" is only the API's name."""
        return served_label(self.model.history)

    @property
    def served_recipe_words(self) -> str:
        words = {"improved": "with R1", "tutorial": "the tutorial's recipe too"}
        return words.get(served_recipe(self.model.history), "recipe not recorded")

    def sampler_for(self, model) -> Sampler:
        if not isinstance(model, str) or model not in self.samplers:
            raise ValueError(f"model must be one of {', '.join(self.samplers)}, got {shown(model)}")
        return self.samplers[model]

    def critic_for(self, model) -> Critic:
        """The model's discriminator: a ValueError for a model the app does not serve, or one
        whose run has no discriminator (it says why)."""
        self.sampler_for(model)  # the message for a model the app does not serve
        critic = self.critics[model]
        if not critic.available:
            raise ValueError(f"D's scores of the {model} model are not available: {critic.missing}")
        return critic


def build_context(settings: Settings) -> Context:
    model = load_app_model(settings)
    if model.notice:
        log.warning(model.notice)
    tutorial_generator, tutorial_history = load_run(TUTORIAL_RUN)
    samplers = {"improved": Sampler(model.generator), "tutorial": Sampler(tutorial_generator)}
    classifier = load_classifier()
    # The MNIST training images, for the nearest-image check and live training: MNIST_DIR, or a
    # download on a Space; indexed on a background thread once the app is serving (app.main() starts it).
    nearest = NearestImages(classifier, settings.mnist)
    return Context(
        settings=settings,
        model=model,
        tutorial_history=tutorial_history,
        samplers=samplers,
        readers={name: DigitReader(sampler, classifier) for name, sampler in samplers.items()},
        critics={
            "improved": load_critic(model.run_dir, model.from_hub),
            "tutorial": load_critic(TUTORIAL_RUN),
        },
        nearest=nearest,
        live_trainer=LiveTrainer(nearest.data_folder),
        stepper=Stepper(lambda: nearest.ready_index().images),
        live_runs=LiveRuns(),
        # In Gradio's own file cache, so that Gradio serves each answer where it is instead of
        # copying it; all of them together at most OUTPUT_FILES_MB, the least recently used first out.
        outputs=OutputFiles(max_bytes=settings.output_files_mb * 1024 * 1024, parent=get_upload_folder()),
        film=FilmMaker(model.grids),
    )
