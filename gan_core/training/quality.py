"""How good are the digits? A small MNIST classifier and the figures computed with it.

From N generated images: MNIST-FD, the Frechet distance between the classifier's penultimate
features of generated images and of the MNIST test set (torchmetrics' FID with this classifier as
its feature extractor); a classifier Inception Score (torchmetrics' IS on the classifier's logits);
the predicted-digit histogram and its KL divergence to uniform; the mean top-class confidence.
tools/quality.py trains the bundled classifier and prints these figures for a run or real data.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_core.data import load_mnist, to_model_range
from gan_core.latent import seeded_noise
from gan_core.runs.checkpoint import read_weights

CLASSIFIER_PATH = Path(__file__).resolve().parents[1] / "assets" / "mnist_classifier.safetensors"
FEATURES = 128


class MnistClassifier(nn.Module):
    """A LeNet-style CNN on images in [-1, 1] (the generator's range), flattened or 28x28."""

    def __init__(self):
        super().__init__()
        self.convolutions = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.convolutions(images.reshape(-1, 1, 28, 28))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class _Given(nn.Module):
    """A feature extractor for torchmetrics that is handed features already computed: the classifier
    runs once per image, and its features feed MNIST-FD (as float64) and its logits IS and the
    histogram, instead of one convolution pass for each of the three."""

    def __init__(self, num_features: int, dtype: torch.dtype):
        super().__init__()
        self.num_features, self.dtype = num_features, dtype

    def forward(self, features):
        return features.to(self.dtype)


def load_classifier(path: str | Path = CLASSIFIER_PATH) -> MnistClassifier:
    classifier = MnistClassifier()
    classifier.load_state_dict(read_weights(path))
    return classifier.eval()


def train_classifier(
    data_dir: str | Path, epochs: int = 4, seed: int = 0, log=print
) -> tuple[MnistClassifier, float]:
    """Adam on the 60,000 training images, with one-pixel shifts as augmentation; returns the
    classifier and its test accuracy."""
    torch.manual_seed(seed)
    images, labels = load_mnist(data_dir, train=True, download=False)
    test_images, test_labels = load_mnist(data_dir, train=False, download=False)
    images, test_images = to_model_range(images), to_model_range(test_images)
    classifier = MnistClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=epochs * (len(images) // 128)
    )
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        classifier.train()
        order = torch.randperm(len(images))
        for step in range(len(images) // 128):
            batch = order[step * 128 : (step + 1) * 128]
            shifted = torch.roll(
                images[batch].reshape(-1, 28, 28),
                shifts=tuple(torch.randint(-1, 2, (2,)).tolist()),
                dims=(1, 2),
            )
            loss = F.cross_entropy(classifier(shifted), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        accuracy = test_accuracy(classifier, test_images, test_labels)
        log(
            f"classifier epoch {epoch}/{epochs}: test accuracy {accuracy:.4f} "
            f"({time.perf_counter() - start:.0f}s)"
        )
    return classifier.eval(), accuracy


@torch.inference_mode()
def test_accuracy(classifier: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    classifier.eval()
    predictions = torch.cat([classifier(chunk).argmax(1) for chunk in images.split(2000)])
    return (predictions == labels).float().mean().item()


class QualityEvaluator:
    """Quality figures against a fixed reference set, whose features are computed once."""

    def __init__(
        self, classifier: MnistClassifier, reference: torch.Tensor, count: int = 10_000, seed: int = 12345
    ):
        from torchmetrics.image.fid import (
            FrechetInceptionDistance,
        )  # deferred: only training with --eval-every needs it

        self.classifier = classifier.cpu().eval()
        self.count, self.seed = count, seed
        self.frechet = FrechetInceptionDistance(
            feature=_Given(FEATURES, torch.float64), reset_real_features=False
        )
        with torch.inference_mode():
            for chunk in reference.detach().float().cpu().split(2000):
                self.frechet.update(self.classifier.features(chunk), real=True)

    @classmethod
    def for_mnist_test_set(cls, data_dir: str | Path, count: int = 10_000) -> QualityEvaluator:
        test_images = to_model_range(load_mnist(data_dir, train=False, download=False)[0])
        return cls(load_classifier(), test_images, count)

    def __call__(self, generator: nn.Module) -> dict:
        return self.figures(generate_images(generator, self.count, self.seed))

    @torch.inference_mode()
    def figures(self, generated: torch.Tensor) -> dict:
        from torchmetrics.image.inception import InceptionScore  # deferred, as above

        with warnings.catch_warnings():
            # IS warns that it keeps its features in memory (10,000 x 10 floats here) and that a
            # single split has no standard deviation (we report the score, not its spread).
            warnings.filterwarnings(
                "ignore", message="Metric `InceptionScore` will save all extracted features"
            )
            warnings.filterwarnings("ignore", message="std\\(\\): degrees of freedom")
            return self._figures(generated, InceptionScore(feature=_Given(10, torch.float32), splits=1))

    def _figures(self, generated: torch.Tensor, inception) -> dict:
        self.frechet.reset()  # forgets the generated features, keeps the reference ones
        probabilities = []
        for chunk in generated.detach().float().cpu().split(2000):
            features = self.classifier.features(chunk)
            logits = self.classifier.head(features)
            self.frechet.update(features, real=False)
            inception.update(logits)
            probabilities.append(logits.softmax(1))
        probabilities = torch.cat(probabilities)
        histogram = torch.bincount(probabilities.argmax(1), minlength=10).double() / len(probabilities)
        return {
            "mnist_fd": round(float(self.frechet.compute()), 4),
            "inception_score": round(float(inception.compute()[0]), 4),
            "digit_histogram": [round(p, 4) for p in histogram.tolist()],
            "kl_to_uniform": round(sum(p * math.log(p * 10) for p in histogram.tolist() if p > 0), 5),
            "mean_confidence": round(probabilities.max(1).values.mean().item(), 4),
            "samples": len(generated),
        }


def quality_figures(classifier: MnistClassifier, generated: torch.Tensor, reference: torch.Tensor) -> dict:
    """The figures for `generated` images against `reference` images (both (N, 784) in [-1, 1])."""
    return QualityEvaluator(classifier, reference).figures(generated)


@torch.inference_mode()
def generate_images(generator: nn.Module, count: int, seed: int = 12345) -> torch.Tensor:
    """`count` images from a fixed evaluation seed, on the generator's device, returned on the CPU."""
    device = next(generator.parameters()).device
    noise = seeded_noise(seed, count, generator.latent_size)
    return torch.cat([generator(chunk.to(device)).cpu() for chunk in noise.split(2000)])
