"""Configuration: the generator's init args (config.json) and the training run (history.json)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEVICE_CHOICES = ("auto", "cuda", "cpu", "mps")
MAX_WIDTH = 4096  # largest --latent-size / --hidden-size

# Named training recipes. "seed" is the tutorial's, unchanged, so it stays reproducible.
# "improved" is the best recipe measured with the same two networks (README, Sample quality): the
# tutorial's plus an R1 gradient penalty of weight 10 on D. Without it, D keeps pushing G between a
# few easy digits (30% ones); with it, D(x) and D(G(z)) settle at 0.50 and every digit gets its
# share. What did not help the tutorial's recipe: Adam beta1 0.5 with real labels 0.9 (the former
# "improved": ahead until epoch 75, collapsing towards ones by 100), an EMA of G's weights (within
# run-to-run noise) and a linear learning-rate decay (worse). With R1 an EMA of 0.999 did help (at
# weight 30), but no run at weight 10 has measured it yet, so "improved" leaves it off for now.
RECIPES = {
    "seed": {"adam_beta1": 0.9, "real_label": 1.0, "ema_decay": 0.0, "lr_decay": "none", "r1_gamma": 0.0},
    "improved": {"adam_beta1": 0.9, "real_label": 1.0, "ema_decay": 0.0, "lr_decay": "none", "r1_gamma": 10.0},
}
LR_DECAYS = ("none", "linear")


@dataclass(frozen=True)
class ModelConfig:
    """Generator init args; written as config.json so loading rebuilds the exact model."""

    latent_size: int = 64
    hidden_size: int = 256
    image_size: int = 784  # 28 * 28, flattened like the seed

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: int(v) for k, v in values.items() if k in known})


@dataclass
class TrainConfig:
    """One training run. Defaults are the seed post's hyperparameters."""

    epochs: int = 300
    batch_size: int = 100
    lr: float = 2e-4  # Adam with default betas (0.9, 0.999), as in the seed
    latent_size: int = 64
    hidden_size: int = 256
    seed: int = 0
    device: str = "auto"
    data_dir: str = "data"
    subset: int | None = None  # train on the first N images only (quick runs)
    out: str = "runs/mnist-gan"
    sample_every: int = 1
    cuda_graphs: bool = True  # only matters on CUDA; CPU and MPS always run eagerly
    compile: bool = False  # torch.compile the two loss computations (start-up cost, see benchmarks)
    recipe: str = "seed"
    ema_decay: float | None = None  # EMA of G's weights; None: the recipe's; 0 disables
    lr_decay: str | None = None  # "linear": full rate for half the epochs, then down to ~0; None: the recipe's
    r1_gamma: float | None = None  # weight of D's R1 gradient penalty on real images; None: the recipe's
    eval_every: int = 0  # quality figures every N epochs (and after the last); 0: never
    eval_samples: int = 10_000  # generated images per evaluation (the README's figures use 10,000)

    @property
    def adam_betas(self) -> tuple[float, float]:
        return (RECIPES[self.recipe]["adam_beta1"], 0.999)

    @property
    def real_label(self) -> float:
        """The D target for real images: 1, or 0.9 with one-sided label smoothing."""
        return RECIPES[self.recipe]["real_label"]

    @property
    def resolved_ema_decay(self) -> float:
        return RECIPES[self.recipe]["ema_decay"] if self.ema_decay is None else self.ema_decay

    @property
    def resolved_lr_decay(self) -> str:
        return RECIPES[self.recipe]["lr_decay"] if self.lr_decay is None else self.lr_decay

    @property
    def resolved_r1_gamma(self) -> float:
        return RECIPES[self.recipe]["r1_gamma"] if self.r1_gamma is None else self.r1_gamma

    def lr_at(self, epoch: int) -> float:
        """The learning rate of an epoch (1-based). "linear" keeps --lr for the first half, then
        lowers it in equal steps so that the last epoch trains at 1/(epochs - epochs // 2 + 1) of it."""
        start = self.epochs // 2
        if self.resolved_lr_decay == "none" or epoch <= start:
            return self.lr
        return self.lr * (self.epochs - epoch + 1) / (self.epochs - start + 1)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(latent_size=self.latent_size, hidden_size=self.hidden_size)

    def validate(self) -> None:
        """Reject nonsense before any work starts, with a message naming the flag."""
        problems = []
        if self.epochs < 1:
            problems.append(f"--epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 1:
            problems.append(f"--batch-size must be at least 1 (got {self.batch_size})")
        if not (self.lr > 0 and self.lr < float("inf")):
            problems.append(f"--lr must be a positive number (got {self.lr})")
        if not (1 <= self.latent_size <= MAX_WIDTH and 1 <= self.hidden_size <= MAX_WIDTH):
            # Wider than this is no longer the seed's small MLP, and 10**9 would only end in an
            # out-of-memory traceback.
            problems.append(f"--latent-size and --hidden-size must be between 1 and {MAX_WIDTH} "
                            f"(got {self.latent_size} and {self.hidden_size})")
        if self.subset is not None and self.subset < 1:
            problems.append(f"--subset must be at least 1 (got {self.subset})")
        if self.sample_every < 1:
            problems.append(f"--sample-every must be at least 1 (got {self.sample_every})")
        if self.recipe not in RECIPES:
            problems.append(f"--recipe must be one of {', '.join(RECIPES)} (got {self.recipe!r})")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            problems.append(f"--ema-decay must be in [0, 1) (got {self.ema_decay})")
        if self.lr_decay is not None and self.lr_decay not in LR_DECAYS:
            problems.append(f"--lr-decay must be one of {', '.join(LR_DECAYS)} (got {self.lr_decay!r})")
        if self.r1_gamma is not None and not 0 <= self.r1_gamma < float("inf"):
            problems.append(f"--r1-gamma must be 0 or a positive number (got {self.r1_gamma})")
        if self.eval_every < 0:
            problems.append(f"--eval-every must be 0 or more (got {self.eval_every})")
        if self.eval_samples < 2:  # a Fréchet distance needs a covariance
            problems.append(f"--eval-samples must be at least 2 (got {self.eval_samples})")
        if self.device not in DEVICE_CHOICES:
            problems.append(f"--device must be one of {', '.join(DEVICE_CHOICES)} (got {self.device!r})")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        """The fields, plus the settings the recipe resolved to (so a history stays exact even
        if a recipe's definition changes later)."""
        return {**dataclasses.asdict(self), "resolved": {
            "adam_betas": list(self.adam_betas), "real_label": self.real_label, "ema_decay": self.resolved_ema_decay,
            "lr_decay": self.resolved_lr_decay, "r1_gamma": self.resolved_r1_gamma}}

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    # Values that must agree between a run directory and the flags that resume it.
    RESUME_KEYS = ("batch_size", "lr", "latent_size", "hidden_size", "seed", "subset", "recipe", "ema_decay",
                   "lr_decay", "r1_gamma")
