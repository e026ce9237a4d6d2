"""The model repo's README.md, written from history.json (and the repo id, when pushing)."""

from __future__ import annotations

from pathlib import Path

from .config import card_rows
from .history import History, final_scores
from .layout import sample_epochs, sample_path
from .report import quality_summary, training_summary


def model_card(history: History, run_dir: str | Path, repo_id: str | None = None) -> str:
    """The card of the run in `run_dir`; `repo_id` goes into the usage snippet (USER/NAME until pushed)."""
    repo = repo_id or "USER/NAME"
    sampled = sample_epochs(run_dir)
    sample_file = sample_path(run_dir, sampled[-1]).relative_to(run_dir).as_posix() if sampled else None
    config = history.get("config", {})
    meta = history.get("meta", {})
    last = final_scores(history) or {}
    rows = "\n".join(f"| {label} | {value} |" for label, value in card_rows(config))
    scores = (
        "| D(x) | D(G(z)) | D loss | G loss |\n| --- | --- | --- | --- |\n"
        f"| {last['d_x']:.3f} | {last['d_g_z']:.3f} | {last['d_loss']:.3f} | {last['g_loss']:.3f} |"
        if last
        else "No epochs recorded."
    )
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

{training_summary(history)} Software: torch {meta.get("torch", "?")}, the {meta.get("path", "eager")} path.

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
