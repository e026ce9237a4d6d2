"""The model repo's README.md, written from history.json (and the repo id, when pushing)."""
from __future__ import annotations

from pathlib import Path

from .checkpoint import sample_path
from .report import final_scores, quality_summary, sample_epochs, training_summary

CONFIG_ROWS = (("epochs", "epochs"), ("batch_size", "batch size"), ("lr", "Adam learning rate"),
               ("adam_betas", "Adam betas"), ("real_label", "D target for real images"),
               ("resolved_ema_decay", "EMA decay of G's weights (0: none)"),
               ("resolved_lr_decay", "learning-rate decay"), ("resolved_r1_gamma", "R1 penalty weight on D"),
               ("recipe", "recipe"),
               ("latent_size", "latent size"), ("hidden_size", "hidden size"), ("seed", "seed"),
               ("subset", "training images"))


def config_rows(config: dict) -> list[tuple[str, object]]:
    """(label, value) for the card's table, with the recipe's derived settings spelled out."""
    from .config import TrainConfig

    if not config:
        return []
    resolved = TrainConfig.from_dict(config)
    recorded = config.get("resolved", {})  # what the run really used, when the history says
    recorded = {"adam_betas": tuple(recorded["adam_betas"]), "real_label": recorded["real_label"],
                "resolved_ema_decay": recorded["ema_decay"],
                **({"resolved_lr_decay": recorded["lr_decay"]} if "lr_decay" in recorded else {}),
                **({"resolved_r1_gamma": recorded["r1_gamma"]} if "r1_gamma" in recorded else {})} if recorded else {}
    rows = []
    for key, label in CONFIG_ROWS:
        value = recorded.get(key, getattr(resolved, key))
        if key == "subset" and value is None:
            value = "all 60,000"
        rows.append((label, value))
    return rows


def model_card(history: dict, run_dir: str | Path, repo_id: str | None = None) -> str:
    """The card of the run in `run_dir`; `repo_id` goes into the usage snippet (a placeholder until pushed)."""
    repo = repo_id or "USER/NAME"
    sampled = sample_epochs(run_dir)
    sample_file = sample_path(run_dir, sampled[-1]).relative_to(run_dir).as_posix() if sampled else None
    config = history.get("config", {})
    meta = history.get("meta", {})
    last = final_scores(history) or {}
    rows = "\n".join(f"| {label} | {value} |" for label, value in config_rows(config))
    scores = ("| D(x) | D(G(z)) | D loss | G loss |\n| --- | --- | --- | --- |\n"
              f"| {last['d_x']:.3f} | {last['d_g_z']:.3f} | {last['d_loss']:.3f} | {last['g_loss']:.3f} |"
              if last else "No epochs recorded.")
    sample = f"\n![fixed-noise samples after the last epoch]({sample_file})\n" if sample_file else ""
    return f"""---
license: mit
library_name: pytorch
pipeline_tag: unconditional-image-generation
tags:
- gan
- mnist
- pytorch
datasets:
- mnist
---

# MNIST GAN generator

The generator of the vanilla GAN from a well-known PyTorch tutorial: an MLP
(Linear(64, 256)-ReLU-Linear(256, 256)-ReLU-Linear(256, 784)-Tanh) that maps 64 Gaussian noise
values to a 28x28 digit in [-1, 1]. It was trained against an MLP discriminator with BCE loss on
the 60,000 MNIST training images.

## Use

```python
# pip install torch huggingface_hub safetensors; the class is in gan_core/models.py of the project
import torch
from gan_core.models import Generator

generator = Generator.from_pretrained("{repo}").eval()
noise = torch.randn(16, generator.latent_size, generator=torch.Generator().manual_seed(0))
digits = generator(noise).reshape(-1, 28, 28)  # values in [-1, 1]; (digits + 1) / 2 for [0, 1]
```

## Training

| setting | value |
| --- | --- |
{rows}

{training_summary(history)} Software: torch {meta.get('torch', '?')}, the {meta.get('path', 'eager')} path.

Final epoch means over all batches:

{scores}

![D(x), D(G(z)) and the losses per epoch](scores.png)
{sample}
## Sample quality

{quality_summary(history)}

## Limitations

- Unconditional: you cannot ask for a particular digit; seeds pick them at random.
- A 2014-style MLP GAN: strokes are noisy, some samples are not legible digits, and some digits
  appear more often than others (the shares are under Sample quality).
- 28x28 grayscale only; not a model of handwriting in general.
- The tutorial claims D(x) and D(G(z)) converge to 0.5; the recorded scores show where they ended.
"""
