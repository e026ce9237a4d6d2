"""Configuration: the generator's init args (config.json) and the training run (history.json)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEVICE_CHOICES = ("auto", "cuda", "cpu", "mps")


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
        if self.latent_size < 1 or self.hidden_size < 1:
            problems.append("--latent-size and --hidden-size must be at least 1")
        if self.subset is not None and self.subset < 1:
            problems.append(f"--subset must be at least 1 (got {self.subset})")
        if self.sample_every < 1:
            problems.append(f"--sample-every must be at least 1 (got {self.sample_every})")
        if self.device not in DEVICE_CHOICES:
            problems.append(f"--device must be one of {', '.join(DEVICE_CHOICES)} (got {self.device!r})")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    # Values that must agree between a run directory and the flags that resume it.
    RESUME_KEYS = ("batch_size", "lr", "latent_size", "hidden_size", "seed", "subset")
