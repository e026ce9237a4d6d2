import json

import torch

from gan_core.checkpoint import write_json, write_weights
from gan_core.config import ModelConfig, TrainConfig
from gan_core.hub import read_generator
from gan_core.models import Discriminator, Generator


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
