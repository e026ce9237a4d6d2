"""The bundled MNIST classifier and the sample-quality figures, from the command line.

python tools/quality.py train --data-dir ../shared/data          # retrain the bundled classifier
python tools/quality.py evaluate --run weights --data-dir ../shared/data
python tools/quality.py reference --data-dir ../shared/data      # the same figures for real data
python tools/quality.py discriminator --run weights --data-dir ../shared/data   # how well D tells them apart
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, as a script

from gan_core.data import load_mnist, to_model_range  # noqa: E402
from gan_core.demo.critic import load_critic  # noqa: E402
from gan_core.runs.checkpoint import write_weights  # noqa: E402
from gan_core.runs.reading import read_generator  # noqa: E402
from gan_core.training.quality import (
    CLASSIFIER_PATH,
    generate_images,
    load_classifier,
    quality_figures,  # noqa: E402
    train_classifier,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="MNIST classifier and sample-quality figures.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the classifier and save it as the bundled one")
    train.add_argument("--data-dir", default="data")
    train.add_argument("--epochs", type=int, default=4)
    train.add_argument("--out", default=str(CLASSIFIER_PATH))
    evaluate = commands.add_parser("evaluate", help="quality figures of a run directory's generator")
    evaluate.add_argument("--run", default="weights")
    evaluate.add_argument("--data-dir", default="data")
    evaluate.add_argument("--count", type=int, default=10_000)
    reference = commands.add_parser("reference", help="the figures for real images (train vs test)")
    reference.add_argument("--data-dir", default="data")
    reference.add_argument("--count", type=int, default=10_000)
    judge = commands.add_parser(
        "discriminator", help="how well a run's D tells real test digits from its G's"
    )
    judge.add_argument("--run", default="weights")
    judge.add_argument("--data-dir", default="data")
    judge.add_argument("--count", type=int, default=10_000)
    return parser


def discriminator_figures(run: Path, real: torch.Tensor, count: int) -> dict:
    """D's mean score on real test digits and on as many of its generator's, and how often it calls
    each right (real: a score of 0.5 or more), the odds a player of "Be D" has to beat."""
    critic = load_critic(run)
    if not critic.available:
        raise SystemExit(f"{run}: {critic.missing}")
    real_scores = critic.scores(real[:count])
    fake_scores = critic.scores(generate_images(read_generator(run), len(real_scores)))
    right = (real_scores >= 0.5).sum() + (fake_scores < 0.5).sum()
    return {"digits": 2 * len(real_scores), "real_mean": round(real_scores.mean().item(), 4),
            "generated_mean": round(fake_scores.mean().item(), 4),
            "accuracy": round(right.item() / (2 * len(real_scores)), 4)}  # fmt: skip


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        classifier, accuracy = train_classifier(args.data_dir, args.epochs)
        write_weights(args.out, classifier, {"test_accuracy": f"{accuracy:.4f}"})
        print(f"wrote {args.out} (test accuracy {accuracy:.4f})")
        return 0
    test_images = to_model_range(load_mnist(args.data_dir, train=False, download=False)[0])
    if args.command == "discriminator":
        print(json.dumps(discriminator_figures(Path(args.run), test_images, args.count), indent=2))
        return 0
    if args.command == "evaluate":
        generated = generate_images(read_generator(args.run), args.count)
    else:
        train_images = load_mnist(args.data_dir, train=True, download=False)[0]
        generated = to_model_range(train_images[torch.randperm(len(train_images))[: args.count]])
    print(json.dumps(quality_figures(load_classifier(), generated, test_images), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
