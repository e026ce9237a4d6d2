import json

import torch

from gan_core.config import ModelConfig, TrainConfig
from gan_core.io import write_json
from gan_core.models import Discriminator, Generator
from gan_core.runs.checkpoint import write_weights
from gan_core.runs.reading import read_generator
from gan_core.training.engines.reference import r1_penalty


def test_generator_maps_noise_to_images_in_tanh_range():
    generator = Generator()
    images = generator(torch.randn(5, 64) * 10)  # large inputs saturate, still within [-1, 1]
    assert images.shape == (5, 784)
    assert images.min() >= -1 and images.max() <= 1


def test_discriminator_outputs_one_probability_per_image():
    scores = Discriminator()(torch.rand(7, 784) * 2 - 1)
    assert scores.shape == (7, 1)
    assert ((scores > 0) & (scores < 1)).all()


def test_layers_are_the_seeds():
    layers = [type(layer).__name__ for layer in Generator().net]
    assert layers == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Tanh"]
    shapes = [tuple(layer.weight.shape) for layer in Discriminator().net if hasattr(layer, "weight")]
    assert shapes == [(256, 784), (256, 256), (1, 256)]
    assert Discriminator().net[1].negative_slope == 0.2


def test_model_config_round_trips_through_config_json(tmp_path):
    config = ModelConfig(latent_size=16, hidden_size=32)
    generator = Generator(**config.to_dict())
    write_json(tmp_path / "config.json", config.to_dict())
    write_weights(tmp_path / "model.safetensors", generator)
    assert ModelConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == config
    loaded = read_generator(tmp_path)
    for name, tensor in generator.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)


def test_train_config_round_trips_through_a_dict():
    config = TrainConfig(epochs=3, subset=100, seed=7)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_r1_penalty_is_the_mean_squared_gradient_norm_of_the_logit():
    torch.manual_seed(0)
    discriminator = Discriminator(hidden_size=8, image_size=6).double()
    images = torch.rand(3, 6, dtype=torch.float64) * 2 - 1
    assert torch.allclose(torch.sigmoid(discriminator.logits(images)), discriminator(images))
    # Central differences of the logit, one input pixel at a time: independent of autograd.
    step, gradients = 1e-6, torch.zeros_like(images)
    for pixel in range(images.shape[1]):
        shift = torch.zeros_like(images)
        shift[:, pixel] = step
        with torch.no_grad():
            gradients[:, pixel] = (
                discriminator.logits(images + shift) - discriminator.logits(images - shift)
            )[:, 0] / (2 * step)
    expected = gradients.square().sum(dim=1).mean()
    penalty = r1_penalty(discriminator, images)
    assert penalty.item() > 0 and torch.isclose(penalty, expected, rtol=1e-6)
    # It is differentiable with respect to D's weights, which is what trains D to be flat on the data.
    # (Not its biases: with piecewise-linear activations the input gradient does not depend on them.)
    weights = [param for name, param in discriminator.named_parameters() if name.endswith("weight")]
    assert all(grad.abs().sum() > 0 for grad in torch.autograd.grad(penalty, weights))
