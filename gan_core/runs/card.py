"""The model repo's README.md, written from the run's own facts (history.json, config, files)."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

from gan_core.messages import markdown_text
from gan_core.runs.history import History, final_quality, final_scores
from gan_core.runs.layout import sample_epochs, sample_path
from gan_core.runs.report import card_rows, quality_summary, recipe_label, training_summary

TUTORIAL_URL = "https://github.com/yunjey/pytorch-tutorial/tree/master/tutorials/03-advanced/generative_adversarial_network"
MNIST_TRAINING_IMAGES = 60_000


def card_metadata(history: History, repo: str) -> ModelCardData:
    """The card's YAML: the Hub's fields, and the quality figures as model-index eval results."""
    results = []
    row = final_quality(history)
    if row is not None:
        quality = row["quality"]
        figures = (
            ("mnist-fd", "MNIST-FD (Frechet distance, MNIST classifier features)", quality["mnist_fd"]),
            ("inception-score", "Inception Score, MNIST classifier", quality["inception_score"]),
        )
        for metric, name, value in figures:
            results.append(
                EvalResult(
                    task_type="unconditional-image-generation",
                    dataset_type="ylecun/mnist",
                    dataset_name="MNIST",
                    dataset_split="test",
                    metric_type=metric,
                    metric_name=name,
                    metric_value=value,
                )
            )
    return ModelCardData(
        license="mit",
        library_name="pytorch",
        pipeline_tag="unconditional-image-generation",
        tags=["gan", "mnist", "pytorch"],
        datasets=["ylecun/mnist"],
        model_name=repo.split("/")[-1],
        eval_results=results or None,
    )


def loading_snippet(repo: str) -> str:
    """Python that loads and samples the generator with torch, safetensors and huggingface_hub only."""
    return f"""# pip install torch safetensors huggingface_hub
import json

import torch
from huggingface_hub import hf_hub_download
from safetensors.torch import load_file

repo = "{repo}"
config = json.load(open(hf_hub_download(repo, "config.json")))
latent, hidden, pixels = config["latent_size"], config["hidden_size"], config["image_size"]
generator = torch.nn.Sequential(
    torch.nn.Linear(latent, hidden),
    torch.nn.ReLU(),
    torch.nn.Linear(hidden, hidden),
    torch.nn.ReLU(),
    torch.nn.Linear(hidden, pixels),
    torch.nn.Tanh(),
)
weights = load_file(hf_hub_download(repo, "model.safetensors"))
generator.load_state_dict({{name.removeprefix("net."): tensor for name, tensor in weights.items()}})
noise = torch.randn(16, latent, generator=torch.Generator().manual_seed(0))
digits = (generator(noise).detach().reshape(-1, 28, 28) + 1) / 2  # 16 digits, pixels in [0, 1]"""


def recipe_paragraph(config: dict) -> str:
    resolved = config.get("resolved", {})
    gamma = resolved.get("r1_gamma", 0)
    if gamma:
        return (
            f"The training is the tutorial's (Adam, lr {config.get('lr', 2e-4)}, batch "
            f"{config.get('batch_size', 100)}, BCE; D learns real as 1 and fake as 0, G learns to be called "
            f"real) plus one change: D's loss "
            f"gains an R1 penalty of weight {gamma}, {gamma}/2 times the mean squared gradient of D's logit "
            f"with respect to the real images. It keeps D flat on the data, so that D and G settle at "
            f"D(x) = D(G(z)) = 0.5 and every digit is drawn about as often as the others."
        )
    return (
        "The training is the tutorial's, unchanged: Adam for both networks, BCE; D learns real as 1 and "
        "fake as 0, G learns to be called real (the non-saturating loss). With it D keeps pushing G between "
        "a few easy digits, so D(x) and D(G(z)) stay apart and some digits are drawn far more than others."
    )


def _text(value):
    return markdown_text(value) if isinstance(value, str) else value


def model_card(history: History, run_dir: str | Path, repo_id: str | None = None) -> str:
    """The card of the run in `run_dir`; `repo_id` goes into the usage snippet (USER/NAME until pushed)."""
    repo = repo_id or "USER/NAME"
    sampled = sample_epochs(run_dir)
    sample_file = sample_path(run_dir, sampled[-1]).relative_to(run_dir).as_posix() if sampled else None
    config = history.get("config", {})
    meta = history.get("meta", {})
    last = final_scores(history) or {}
    # The run's own values are text, never Markdown: a hand-edited history cannot add links or cells.
    rows = "\n".join(f"| {label} | {_text(value)} |" for label, value in card_rows(config, meta))
    latent, hidden = config.get("latent_size", 64), config.get("hidden_size", 256)
    images = meta.get("training_images")
    trained_on = (
        "all 60,000 MNIST training images"
        if images in (None, MNIST_TRAINING_IMAGES)
        else f"the first {images:,} of the 60,000 MNIST training images"
    )
    scores = (
        "| D(x) | D(G(z)) | D loss | G loss |\n| --- | --- | --- | --- |\n"
        f"| {last['d_x']:.3f} | {last['d_g_z']:.3f} | {last['d_loss']:.3f} | {last['g_loss']:.3f} |"
        if last
        else "No epochs recorded."
    )
    sample = f"\n![fixed-noise samples after the last epoch]({sample_file})\n" if sample_file else ""
    return f"""---
{card_metadata(history, repo).to_yaml()}
---

# MNIST GAN generator

The generator of the vanilla GAN from [a well-known PyTorch tutorial]({TUTORIAL_URL}): an MLP
(Linear({latent}, {hidden})-ReLU-Linear({hidden}, {hidden})-ReLU-Linear({hidden}, 784)-Tanh) that maps
{latent} Gaussian noise values to a 28x28 digit in [-1, 1]. It was trained against an MLP
discriminator with BCE loss on {trained_on} ([ylecun/mnist](https://huggingface.co/datasets/ylecun/mnist)).
Recipe: {recipe_label(config)}. {recipe_paragraph(config)}

## Use

Without this project, with torch, safetensors and huggingface_hub only:

```python
{loading_snippet(repo)}
```

With the project's code (`gan_core/models.py`): `Generator.from_pretrained("{repo}")`.

## Training

| setting | value |
| --- | --- |
{rows}

{training_summary(history)} Software: torch {markdown_text(meta.get("torch", "?"))}, the \
{markdown_text(meta.get("path", "eager"))} path.

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
