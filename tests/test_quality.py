"""Sample-quality figures (gan_core.training.quality) and the EMA of the generator's weights."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from gan_core.data import load_mnist, to_model_range
from gan_core.images import digit_grid
from gan_core.latent import seeded_noise
from gan_core.models import Generator
from gan_core.runs.checkpoint import read_training_state
from gan_core.training.ema import update_ema
from gan_core.training.quality import QualityEvaluator, load_classifier
from tests.helpers import ROOT, run_script, train_args, write_idx, write_tiny_mnist


class ConstantGenerator(nn.Module):
    """Draws the same image whatever the noise: the extreme of mode collapse."""

    latent_size = 8

    def __init__(self, image):
        super().__init__()
        self.image = nn.Parameter(image.reshape(1, 784), requires_grad=False)

    def forward(self, noise):
        return self.image.expand(len(noise), 784)


def test_the_bundled_classifier_loads():
    classifier = load_classifier()
    assert classifier(torch.zeros(3, 784)).shape == (3, 10)


def test_a_generator_of_one_digit_has_a_degenerate_histogram(tiny_data):
    images = to_model_range(load_mnist(tiny_data, train=False)[0])
    evaluator = QualityEvaluator(load_classifier(), images, count=500)
    figures = evaluator(ConstantGenerator(images[0]))
    assert sorted(figures["digit_histogram"])[-1] == 1.0 and sum(figures["digit_histogram"]) == 1.0
    assert figures["kl_to_uniform"] == pytest.approx(math.log(10), abs=1e-4)
    assert figures["inception_score"] == pytest.approx(1.0, abs=1e-3)


def test_real_images_score_near_the_reference_and_noise_far_from_it(real_data):
    test_images = to_model_range(load_mnist(real_data, train=False)[0])
    # 10,000 against 10,000, as in training and in the README: FD is biased upwards by small samples.
    train_images = to_model_range(load_mnist(real_data, train=True, subset=10_000)[0])
    evaluator = QualityEvaluator(load_classifier(), test_images)
    real = evaluator.figures(train_images)
    noise = evaluator.figures(torch.rand(2_000, 784) * 2 - 1)  # far off at any sample size
    assert real["mnist_fd"] < 5 and real["inception_score"] > 9.5
    assert all(0.08 < share < 0.13 for share in real["digit_histogram"])
    assert noise["mnist_fd"] > 100 * real["mnist_fd"] and noise["inception_score"] < 3


def test_ema_update_is_the_weighted_average():
    model, ema = Generator(8, 16), Generator(8, 16)
    before = [p.clone() for p in ema.parameters()]
    update_ema(ema, model, decay=0.9)
    for averaged, old, new in zip(ema.parameters(), before, model.parameters(), strict=True):
        assert torch.allclose(averaged, 0.9 * old + 0.1 * new)


def test_eval_every_records_quality_and_an_ema_run_publishes_the_average(tiny_data, tmp_path):
    out, unevaluated = tmp_path / "run", tmp_path / "unevaluated"
    flags = [
        "--data-dir",
        str(tiny_data),
        "--epochs",
        "3",
        "--device",
        "cpu",
        "--recipe",
        "improved",
        "--ema-decay",
        "0.999",
    ]
    result = run_script("train.py", *flags, "--out", str(out), "--eval-every", "2", "--eval-samples", "500")
    assert result.returncode == 0, result.stderr
    assert "MNIST-FD" in result.stdout
    rows = json.loads((out / "history.json").read_text())["epochs"]
    assert "quality" not in rows[0] and "quality" in rows[2]  # every 2 epochs, and after the last
    for key in ("quality", "quality_raw"):
        assert {"mnist_fd", "inception_score", "digit_histogram", "kl_to_uniform", "mean_confidence"} <= set(
            rows[1][key]
        )
        assert rows[1][key]["samples"] == 500
    # Measuring does not change the training: epoch 3 (after an evaluation) equals a run without any.
    assert run_script("train.py", *flags, "--out", str(unevaluated)).returncode == 0
    means = lambda path: [
        {k: row[k] for k in ("d_loss", "g_loss", "d_x", "d_g_z")}
        for row in json.loads((path / "history.json").read_text())["epochs"]
    ]
    assert means(out) == means(unevaluated)

    state = read_training_state(out)
    published, raw = load_file(out / "model.safetensors"), load_file(out / "generator_raw.safetensors")
    assert all(torch.equal(published[k], state["ema"][k]) for k in published)
    assert all(torch.equal(raw[k], state["generator"][k]) for k in raw)
    assert "## Sample quality" in (out / "README.md").read_text()


def test_the_bundled_classifier_reads_real_digits():
    """60 digits of the MNIST test set (6 of each, tests/fixtures/mnist_test_60.npz): the bundled
    classifier is the trained one, not a fresh network (which reads about 10% of them)."""
    fixture = np.load(ROOT / "tests" / "fixtures" / "mnist_test_60.npz")
    images = to_model_range(torch.from_numpy(fixture["images"]).reshape(-1, 784))
    labels = torch.from_numpy(fixture["labels"]).long()
    with torch.inference_mode():
        predicted = load_classifier()(images).argmax(dim=1)
    assert (predicted == labels).float().mean() >= 0.95


def test_the_fd_reference_is_the_test_split(tmp_path):
    """Train and test splits that differ: the test split scores as the reference, the train split not."""
    data = write_tiny_mnist(tmp_path / "data", train_count=300, test_count=300, seed=1)
    train_raw = data / "MNIST" / "raw"
    # Make the training images unlike the test images: inverted strokes.
    train_images = 255 - load_mnist(data, train=True)[0].numpy().reshape(-1, 28, 28)
    write_idx(train_raw / "train-images-idx3-ubyte", train_images)
    evaluator = QualityEvaluator.for_mnist_test_set(data, count=300)
    test_split = to_model_range(load_mnist(data, train=False)[0])
    train_split = to_model_range(load_mnist(data, train=True)[0])
    assert evaluator.figures(test_split)["mnist_fd"] < 1e-3
    assert evaluator.figures(train_split)["mnist_fd"] > 10


def test_with_ema_the_samples_and_figures_come_from_the_average(tiny_data, tmp_path):
    out = tmp_path / "ema"
    flags = [
        "--epochs",
        "2",
        "--recipe",
        "tutorial",
        "--ema-decay",
        "0.9",
        "--eval-every",
        "1",
        "--eval-samples",
        "200",
    ]
    result = run_script(*train_args(tiny_data, out, *flags))
    assert result.returncode == 0, result.stderr
    rows = json.loads((out / "history.json").read_text())["epochs"]
    assert rows[-1]["quality"] != rows[-1]["quality_raw"]
    state = read_training_state(out)
    average, raw = Generator(), Generator()
    average.load_state_dict(state["ema"])
    raw.load_state_dict(state["generator"])
    assert not torch.equal(average.net[0].weight, raw.net[0].weight)
    # The quality figures: the published ones are the average's, the raw ones the last step's.
    evaluator = QualityEvaluator.for_mnist_test_set(tiny_data, count=200)
    assert rows[-1]["quality"]["mnist_fd"] == pytest.approx(evaluator(average)["mnist_fd"], rel=1e-3)
    assert rows[-1]["quality_raw"]["mnist_fd"] == pytest.approx(evaluator(raw)["mnist_fd"], rel=1e-3)
    # The sample grid: the average's digits for the run's fixed noise.
    with torch.inference_mode():
        expected = digit_grid(average(seeded_noise(0, 64, 64)), columns=8)
    assert np.array_equal(np.asarray(Image.open(out / "samples" / "epoch_0002.png")), np.asarray(expected))
