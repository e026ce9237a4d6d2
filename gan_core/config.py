"""Every setting of a run, declared once.

Each TrainConfig field carries its flag's help text, its bounds, whether `--resume` must see the
same value, and its row in the model card. train.py's flags, `validate()`, the resume check and
the card are all read from these declarations, so a new setting is one edit here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

from gan_core.messages import shown

DEVICE_CHOICES = ("auto", "cuda", "cpu", "mps")
LR_DECAYS = ("none", "linear")
ENGINES = ("auto", "fused", "autograd", "triton")  # auto: triton on CUDA, else fused (registry.py)
MAX_WIDTH = 4096  # largest latent or hidden size: wider is no longer the tutorial's small MLP
MAX_EPOCHS = 1_000_000


@dataclass(frozen=True)
class Recipe:
    """The training settings a named recipe fixes. A run records the values it resolved to, so
    its history stays exact even if a recipe's definition changes later."""

    adam_betas: tuple[float, float] = (0.9, 0.999)
    real_label: float = 1.0  # D's target for real images (0.9 would be one-sided label smoothing)
    ema_decay: float = 0.0  # an EMA of G's weights, published instead of the last step's (0: off)
    lr_decay: str = "none"
    r1_gamma: float = 0.0  # weight of D's R1 gradient penalty on real images (0: the tutorial's BCE)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "adam_betas": list(self.adam_betas)}


# "tutorial" is the tutorial's recipe, unchanged. "improved" adds an R1 penalty on D; README, Sample
# quality, has the measurements that chose it.
RECIPES = {"tutorial": Recipe(), "improved": Recipe(r1_gamma=10.0)}
RENAMED_RECIPES = {"seed": "tutorial"}  # old name -> new: runs recorded under an old name still resume


def recipe_name(name: str) -> str:
    """A recipe's current name, for one that may be recorded or given under an old one."""
    return RENAMED_RECIPES.get(name, name)


@dataclass(frozen=True)
class Setting:
    """How one TrainConfig field is set, checked, resumed and shown."""

    help: str
    kind: type = int  # int, float, str, bool or tuple (a comma-separated pair of floats)
    low: float | None = None
    high: float | None = None
    ends: str = "[]"  # interval notation: "(]" excludes low, "[)" excludes high
    choices: tuple[str, ...] | None = None
    must_match: bool = False  # --resume refuses a different value
    card: str | None = None  # its row's label in the model card
    optional: bool = False  # None is allowed: "the recipe's value", or "all" for --subset
    recorded: bool = True  # kept in history.json (not the local paths, which a pushed run must not carry)

    def problem(self, value) -> str | None:
        """What is wrong with `value`, as the end of a sentence starting with the flag; None if nothing."""
        if value is None and self.optional:
            return None
        if self.choices is not None:
            return (
                None
                if value in self.choices
                else f"must be one of {', '.join(self.choices)}, got {shown(value)}"
            )
        if self.kind is str:
            return None if isinstance(value, str) and value.strip() else f"must be a path, got {shown(value)}"
        if self.kind is bool:
            return None if isinstance(value, bool) else f"must be true or false, got {shown(value)}"
        values = value if self.kind is tuple else (value,)
        if self.kind is tuple and not (isinstance(value, tuple) and len(value) == 2):
            return f"must be two numbers, got {shown(value)}"
        for item in values:
            if not _number_of_kind(item, int if self.kind is int else float) or not self._within(item):
                return f"must be {self.describe()}, got {shown(item)}"
        return None

    def _within(self, value) -> bool:
        above = self.low is None or (value > self.low if self.ends[0] == "(" else value >= self.low)
        below = self.high is None or (value < self.high if self.ends[1] == ")" else value <= self.high)
        return above and below

    def describe(self) -> str:
        noun = "a whole number" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            excluded = [
                str(bound)
                for bound, open_ in ((self.low, self.ends[0] == "("), (self.high, self.ends[1] == ")"))
                if open_
            ]
            return f"{noun} between {_bound(self.low)} and {_bound(self.high)}" + (
                f" ({' and '.join(excluded)} excluded)" if excluded else ""
            )
        if self.low is not None:
            return f"{noun} {'greater than' if self.ends[0] == '(' else 'at least'} {_bound(self.low)}"
        return noun


def _bound(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e19 else f"{value:g}"


def _number_of_kind(value, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return False
    return kind is float or float(value).is_integer()


def setting(default, help: str, **details):
    return field(default=default, metadata={"setting": Setting(help, **details)})


@dataclass(frozen=True)
class ModelConfig:
    """Generator init args; written as config.json so loading rebuilds the exact model."""

    latent_size: int = 64
    hidden_size: int = 256
    image_size: int = 784  # 28 * 28, flattened like the tutorial

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: int(v) for k, v in values.items() if k in known})


@dataclass
class TrainConfig:
    """One training run. Defaults are the tutorial's hyperparameters."""

    # One setting per line, laid out as a table: name, default, help, then how it is checked,
    # resumed (must_match) and shown (card). optional: None is allowed (the recipe's value, or all).
    # fmt: off
    epochs: int = setting(300, "epochs to train (in total, when resuming)", low=1, high=MAX_EPOCHS,
                          card="epochs")
    batch_size: int = setting(100, "images per batch", low=1, high=60_000, must_match=True, card="batch size")
    lr: float = setting(2e-4, "Adam learning rate for both networks", kind=float, low=0, high=1e38, ends="(]",
                        must_match=True, card="Adam learning rate")
    latent_size: int = setting(64, "length of the noise vector z", low=1, high=MAX_WIDTH, must_match=True,
                               card="latent size")
    hidden_size: int = setting(256, "width of the hidden layers", low=1, high=MAX_WIDTH, must_match=True,
                               card="hidden size")
    seed: int = setting(0, "random seed for weights, shuffling and noise", low=0, high=2**63 - 1,
                        must_match=True, card="seed")
    device: str = setting("auto", "auto picks cuda, then mps, then cpu", kind=str, choices=DEVICE_CHOICES)
    cuda_graphs: bool = setting(True, "on CUDA, run the plain eager loop instead of replaying whole epochs "
                                "as CUDA graphs", kind=bool)
    engine: str = setting("auto", "auto: triton on a CUDA GPU with Triton installed, fused elsewhere; "
                          "fused: the step with its backward passes written out, faster; "
                          "autograd: the reference step, as the tutorial writes it (same algorithm, same "
                          "noise; the two differ by float rounding); triton: the fused step with each "
                          "layer's product and activation in one Triton kernel (CUDA only)", kind=str,
                          choices=ENGINES)
    compile: bool = setting(False, "torch.compile the discriminator and generator losses of the autograd "
                            "engine (slower start; implies --engine autograd)", kind=bool)
    # the recipe, and the settings it fixes unless a flag overrides them
    recipe: str = setting("improved", "improved: the tutorial's settings plus an R1 penalty of weight 10 on "
                          "D (see README, Sample quality); tutorial: the tutorial's settings", kind=str,
                          choices=tuple(RECIPES), must_match=True, card="recipe")
    adam_betas: tuple[float, float] | None = setting(None, "Adam's two betas, e.g. 0.5,0.999 (default: "
                                                     "the recipe's)", kind=tuple, low=0, high=1, ends="[)",
                                                     optional=True, must_match=True, card="Adam betas")
    real_label: float | None = setting(None, "D's target for real images (default: the recipe's)",
                                       kind=float, low=0, high=1, ends="(]", optional=True,
                                       must_match=True, card="D target for real images")
    ema_decay: float | None = setting(None, "publish a moving average of G's weights with this decay, "
                                      "e.g. 0.999 (0: off; default: the recipe's)", kind=float, low=0,
                                      high=1, ends="[)", optional=True, must_match=True,
                                      card="EMA decay of G's weights (0: none)")
    lr_decay: str | None = setting(None, "linear: keep --lr for the first half of --epochs, then lower it "
                                   "step by step to near 0 (default: the recipe's)", kind=str,
                                   choices=LR_DECAYS, optional=True, must_match=True,
                                   card="learning-rate decay")
    r1_gamma: float | None = setting(None, "weight of an R1 gradient penalty on real images in D's loss "
                                     "(default: the recipe's)", kind=float, low=0, high=1e6, optional=True,
                                     must_match=True, card="R1 penalty weight on D")
    # measuring
    eval_every: int = setting(0, "record MNIST-FD, Inception Score and the digit histogram every N "
                              "epochs (0: never)", low=0, high=MAX_EPOCHS)
    eval_samples: int = setting(10_000, "generated images per evaluation (fewer: faster, noisier "
                                "figures)", low=2, high=100_000)  # a Fréchet distance needs a covariance
    # data and output
    data_dir: str = setting("data", "folder holding MNIST/raw/ (downloaded there if missing)", kind=str,
                            recorded=False)
    subset: int | None = setting(None, "train on the first N images only", low=1, high=10_000_000,
                                 optional=True, must_match=True, card="training images")
    out: str = setting("runs/mnist-gan", "run directory to write (it is also the model repo)", kind=str,
                       recorded=False)
    sample_every: int = setting(1, "save a fixed-noise sample grid every N epochs", low=1, high=MAX_EPOCHS)
    # fmt: on

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls)}

    def resolved(self) -> Recipe:
        """The recipe's settings with the flags that override them: what this run trains with."""
        overrides = {
            name: getattr(self, name)
            for name in dataclasses.asdict(Recipe())
            if getattr(self, name) is not None
        }
        return dataclasses.replace(RECIPES[self.recipe], **overrides)

    def lr_at(self, epoch: int) -> float:
        """The learning rate of an epoch (1-based). "linear" keeps --lr for the first half, then
        lowers it in equal steps so that the last epoch trains at 1/(epochs - epochs // 2 + 1) of it."""
        start = self.epochs // 2
        if self.resolved().lr_decay == "none" or epoch <= start:
            return self.lr
        return self.lr * (self.epochs - epoch + 1) / (self.epochs - start + 1)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(latent_size=self.latent_size, hidden_size=self.hidden_size)

    def validate(self) -> None:
        """Reject nonsense before any work starts, with a message naming each flag."""
        problems = [
            f"{flag_name(name)} {problem}"
            for name, rule in self.settings().items()
            if rule.kind is not bool and (problem := rule.problem(getattr(self, name)))
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def resume_differences(self, saved: dict) -> list[str]:
        """Why a run recorded with the config `saved` cannot be continued with this one."""
        given = lambda value: "not given" if value is None else f"{value!r}"  # None: left to the recipe
        saved = {**saved, "recipe": recipe_name(saved["recipe"])} if "recipe" in saved else saved
        recorded = lambda name: tuple(saved[name]) if isinstance(saved[name], list) else saved[name]
        differences = [
            f"{flag_name(name)} is {given(getattr(self, name))} but the run used {given(saved[name])}"
            for name, rule in self.settings().items()
            if rule.must_match and name in saved and recorded(name) != getattr(self, name)
        ]
        if differences:
            return differences
        # Same flags, but a recipe's definition can change between releases (as "improved" did): the
        # run keeps what it resolved to when it started, so a changed recipe is refused, not mixed in.
        now = self.resolved().to_dict()
        return [
            f"--recipe {self.recipe} now means {name} = {now[name]!r}, but the run used {value!r}"
            for name, value in saved.get("resolved", {}).items()
            if name in now and now[name] != value
        ]

    def to_dict(self) -> dict:
        """The recorded fields, and the settings the recipe resolved to under "resolved"."""
        recorded = {
            name: value for name, value in dataclasses.asdict(self).items() if self.settings()[name].recorded
        }
        return {**recorded, "resolved": self.resolved().to_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
        return cls(**values)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")
