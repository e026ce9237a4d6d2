"""Does the generator copy its training set? The standard memorisation check: the k nearest MNIST
training images of a generated digit, by pixels (L2 distance) and by the bundled classifier's
features (cosine similarity). A GAN that memorised would show near-copies at a small distance; one
that learned the digits shows neighbours about as far as a real, unseen digit's are.

The index holds all 60,000 training images, built once on a background thread: the images as
bytes (47 MB; a query turns them into floats a slice at a time) and the classifier's unit-length
features (31 MB, about 12 s on 2 CPU cores).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_core.data import load_mnist, read_mnist_idx, to_model_range
from gan_core.images import captioned_grid, digit_grid, to_uint8_digits
from gan_core.messages import first_line
from gan_core.training.quality import MnistClassifier

log = logging.getLogger(__name__)

MAX_K = 16
PIXEL_CHUNK = 2_000  # training images turned into floats at once: 6 MB, kept off the long-lived heap
TRIM_EVERY = 10  # feature chunks between hand-backs of freed memory
FEATURE_CHUNK = 200  # images per classifier pass: small, so the activations stay a few tens of MB
NEAR_COPY_SHARE = 0.5  # nearer than half a real digit's nearest distance looks like a copy
REFERENCE_DIGITS = 500  # real test digits whose nearest training image sets the "typical" distance

HOW_TO_ENABLE = (
    "This needs the MNIST training images, which this app was started without: set MNIST_DIR to a "
    "folder holding MNIST/raw/ (torchvision's layout), or MNIST_DOWNLOAD=1 to download them (a Space "
    "does this by itself)."
)


@dataclass
class Neighbours:
    """The k nearest training images of one digit by one measure, nearest first."""

    indices: list[int]  # rows of the MNIST training set
    labels: list[int]  # their MNIST labels
    values: list[float]  # L2 distances (pixels in [0, 1]), or cosine similarities (features)


def as_pixels(images: torch.Tensor) -> torch.Tensor:
    """(N, 784) uint8 -> floats in [0, 1], the scale the L2 distances are given in."""
    return images.float().div_(255)


class TrainingIndex:
    """The training images, searchable by pixels at once and by features once they are built."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images = images  # (N, 784) uint8
        self.labels = labels
        self.squared_norms = torch.cat([as_pixels(chunk).square().sum(dim=1) for chunk in self._chunks()])
        self.features: torch.Tensor | None = None  # (N, 128), unit length
        # The median distance from a real test digit to its nearest training image, per measure.
        self.typical: dict[str, float] = {}  # and how many test digits it took

    def __len__(self) -> int:
        return len(self.images)

    def _chunks(self):
        return (self.images[start : start + PIXEL_CHUNK] for start in range(0, len(self.images), PIXEL_CHUNK))

    @torch.inference_mode()
    def build_features(self, classifier: MnistClassifier) -> None:
        parts = []
        for number, start in enumerate(range(0, len(self.images), FEATURE_CHUNK)):
            parts.append(unit_features(classifier, self.images[start : start + FEATURE_CHUNK]))
            if number % TRIM_EVERY == 0:
                # glibc raises its mmap threshold after the first large free, so later activations
                # land on the heap and stay there: without this the build holds 400 MB more at its peak.
                return_freed_memory()
        self.features = torch.cat(parts)

    @torch.inference_mode()
    def measure_typical(self, classifier: MnistClassifier, test_images: torch.Tensor) -> None:
        """What a real digit's nearest training image looks like: the yardstick for a generated one."""
        nearest = []
        for batch in test_images.split(50):
            nearest.append(self.nearest_by_pixels(batch, 1)[1][:, 0])
            return_freed_memory()
        pixels = torch.cat(nearest)
        features = self.nearest_by_features(unit_features(classifier, test_images), 1)[1][:, 0]
        self.typical = {"pixels": pixels.median().item(), "features": features.median().item(),
                        "digits": len(test_images)}  # fmt: skip

    @torch.inference_mode()
    def nearest_by_pixels(self, digits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices, L2 distances) of the k nearest training images of each (N, 784) uint8 digit."""
        query = as_pixels(digits)
        products = torch.cat([query @ as_pixels(chunk).T for chunk in self._chunks()], dim=1)
        squared = self.squared_norms[None] + query.square().sum(dim=1, keepdim=True) - 2 * products
        distances, indices = squared.topk(k, dim=1, largest=False)
        return indices, distances.clamp_min(0).sqrt()

    @torch.inference_mode()
    def nearest_by_features(self, unit: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices, cosine similarities) of the k training images whose features point most
        nearly the same way as each row of `unit` (unit-length features)."""
        similarities, indices = (unit @ self.features.T).topk(k, dim=1)
        return indices, similarities

    def neighbours(self, indices: torch.Tensor, values: torch.Tensor) -> Neighbours:
        return Neighbours(indices.tolist(), self.labels[indices].tolist(), values.tolist())


def return_freed_memory() -> None:
    """glibc keeps the freed buffers of a worker thread's allocations; hand them back (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def unit_features(classifier: MnistClassifier, digits: torch.Tensor) -> torch.Tensor:
    """The classifier's 128 features of (N, 784) uint8 digits, scaled to unit length."""
    features = classifier.features(to_model_range(digits))
    return torch.nn.functional.normalize(features, dim=1)


class NearestImages:
    """The index and where it stands, for an app that asks before it is built (or never can be)."""

    def __init__(self, classifier: MnistClassifier, source: tuple[Path, bool] | None):
        self.classifier, self.source = classifier, source
        self.index: TrainingIndex | None = None
        self.status = "not started" if source else HOW_TO_ENABLE
        self.features_ready = False  # set once the features and the yardstick are both there
        self.started: float | None = None
        self.build_seconds: dict[str, float] = {}
        self.typical_note = ""  # why there is no yardstick, when there is none
        self.test_images: torch.Tensor | None = None  # (N, 784) uint8: the real digits of the game

    @property
    def configured(self) -> bool:
        """Whether this app has MNIST to read (MNIST_DIR, or a download on a Space): the one test
        of it that the Nearest, Interpolate and Live tabs share."""
        return self.source is not None

    def start(self) -> threading.Thread | None:
        """Build the index on a daemon thread; a missing or unreadable data set only sets the status."""
        if not self.configured:
            return None
        thread = threading.Thread(target=self._build, name="nearest-index", daemon=True)
        thread.start()
        return thread

    def _build(self) -> None:
        folder, download = self.source
        self.started = time.monotonic()
        self.status = "reading the MNIST training images"
        try:
            images, labels = self._read(folder, download, train=True)
            self.index = TrainingIndex(images, labels)
            self.build_seconds["pixels"] = time.monotonic() - self.started
            self.status = f"computing the classifier's features of the {len(images):,} training images"
            self.index.build_features(self.classifier)
            self.build_seconds["features"] = time.monotonic() - self.started
            self.status = "measuring how near a real test digit's nearest training image is"
            try:  # the yardstick needs the test split; without it the distances stand alone
                test_images, _ = self._read(folder, download, train=False)
                self.test_images = test_images
                self.index.measure_typical(self.classifier, test_images[:REFERENCE_DIGITS])
            except Exception as error:
                self.typical_note = f"no test split to compare with ({first_line(error)})"
            self.features_ready = True  # queries from here on see the whole index and the yardstick
            self.status = "ready"
            return_freed_memory()
        except Exception as error:  # the folder's path goes to the log, not to every visitor
            log.warning("nearest images: cannot index %s: %s", folder, first_line(error))
            self.status = (
                f"the MNIST training images could not be read (the app's log says why). {HOW_TO_ENABLE}"
            )

    @staticmethod
    def _read(folder: Path, download: bool, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        # torchvision only to download (a Space); a local folder is read without it (160 MB less)
        if download:
            return load_mnist(folder, train=train, download=True)
        return read_mnist_idx(folder, train=train)

    def data_folder(self) -> Path:
        """The folder the training images were read from, once they have been (live training
        reads them from there), or a ValueError saying why not."""
        if self.index is None:
            self.ready_index()  # raises with the reason
        return self.source[0]

    def ready_index(self) -> TrainingIndex:
        """The index, or a ValueError saying why there is none yet."""
        if self.index is None or not self.features_ready:
            if not self.configured or self.status.startswith("the MNIST"):
                raise ValueError(self.status)
            waited = time.monotonic() - (self.started or time.monotonic())
            raise ValueError(f"The index of the training images is still being built ({self.status}, "
                             f"{waited:.0f} s so far); try again in a few seconds.")  # fmt: skip
        return self.index

    def real_test_digits(self) -> torch.Tensor:
        """The MNIST test images, (N, 784) uint8, once read with the index, or a ValueError saying
        why not: the real digits "Be the discriminator" mixes with generated ones."""
        if not self.configured:
            raise ValueError(f"The real digits are MNIST's test images. {HOW_TO_ENABLE}")
        self.ready_index()  # raises with the reason while they are not read yet, or cannot be
        if self.test_images is None:
            raise ValueError(f"This needs the MNIST test images, and this app has {self.typical_note}.")
        return self.test_images

    def query(self, generated: torch.Tensor, k: int) -> tuple[Neighbours, Neighbours]:
        """The k nearest training images of one generated digit ((784,) in [-1, 1]), by pixels and
        by features. The digit is rounded to 8 bits first: the distances are those of what is shown."""
        index = self.ready_index()
        k = min(k, len(index))  # a folder of fewer images than k (a test set, a subset) shows them all
        digit = torch.from_numpy(to_uint8_digits(generated[None])).reshape(1, -1)
        by_pixels = index.neighbours(*(part[0] for part in index.nearest_by_pixels(digit, k)))
        with torch.inference_mode():
            unit = unit_features(self.classifier, digit)
        by_features = index.neighbours(*(part[0] for part in index.nearest_by_features(unit, k)))
        return by_pixels, by_features


NEAREST_SCALE = 3
TABLE_HEADERS = ["measure", "rank", "training image", "label", "distance or similarity"]


def nearest_grid(
    generated: torch.Tensor, index: TrainingIndex, by_pixels: Neighbours, by_features: Neighbours
):
    """Two captioned rows: the generated digit, then its neighbours by pixels (with L2 distances),
    and again by features (with cosine similarities)."""
    rows = []
    for neighbours in (by_pixels, by_features):
        rows += [generated[None], to_model_range(index.images[neighbours.indices])]
    columns = len(by_pixels.indices) + 1
    grid = digit_grid(torch.cat([row.float() for row in rows]), columns=columns, scale=NEAREST_SCALE)
    captions = []
    for name, neighbours, places in (("pixels", by_pixels, 2), ("features", by_features, 3)):
        captions += [f"yours: {name}"] + [
            f"{label} · {value:.{places}f}"
            for label, value in zip(neighbours.labels, neighbours.values, strict=True)
        ]
    return captioned_grid(grid, captions, columns=columns, scale=NEAREST_SCALE)


def nearest_table(by_pixels: Neighbours, by_features: Neighbours) -> list[list]:
    """One row per neighbour: measure, rank, training-set row, MNIST label, distance or similarity."""
    return [
        [measure, rank, image, label, round(value, 4)]
        for measure, neighbours in (("pixels (L2)", by_pixels), ("features (cosine)", by_features))
        for rank, (image, label, value) in enumerate(
            zip(neighbours.indices, neighbours.labels, neighbours.values, strict=True), start=1
        )
    ]


def verdict(by_pixels: Neighbours, typical: dict[str, float]) -> str:
    """What the nearest distance says, measured against a real unseen digit's."""
    nearest, image, label = by_pixels.values[0], by_pixels.indices[0], by_pixels.labels[0]
    text = f"The nearest training image by pixels is #{image} (a {label}), at L2 distance {nearest:.2f}"
    if not typical:
        return text + "."
    yardstick = typical["pixels"]
    text += (
        f"; a real test digit, never trained on, has its nearest training image at {yardstick:.2f} "
        f"(the median over {typical['digits']} test digits). "
    )
    if nearest < NEAR_COPY_SHARE * yardstick:
        return text + "Far closer than that: this digit may be a near-copy of that training image."
    if nearest < yardstick:
        return text + "About as close: a new digit in the style of the training set, not a copy."
    return text + "Farther than that: not a copy of any training image."
