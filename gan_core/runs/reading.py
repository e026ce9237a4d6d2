"""Reading a run folder's generator: config.json and model.safetensors are untrusted input (a
folder from anywhere, or a Hub snapshot), so every size and shape is checked before anything is
allocated, and the weights before they are served. hub/pull.py fetches a Hub run, then reads it here.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from gan_core.config import MAX_WIDTH, ModelConfig
from gan_core.io import check_regular, read_bounded
from gan_core.latent import seeded_noise
from gan_core.messages import first_line, shown
from gan_core.models import Discriminator, Generator
from gan_core.runs.checkpoint import read_weights
from gan_core.runs.history import History, read_history
from gan_core.runs.layout import CONFIG_FILE, DISCRIMINATOR_FILE, HISTORY_FILE, MODEL_FILE

MAX_CONFIG_BYTES = 64 * 1024  # config.json holds three numbers


def read_model_config(config_path: Path) -> ModelConfig:
    """config.json, checked against the bounds training allows before anything is allocated."""
    data = read_bounded(config_path, MAX_CONFIG_BYTES)  # missing, a FIFO, a device: a ValueError
    try:
        values = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{config_path} is not a valid generator config ({first_line(error)})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config_path} is not a valid generator config (not a JSON object)")
    sizes = {}
    for name, low, high in (
        ("latent_size", 1, MAX_WIDTH),
        ("hidden_size", 1, MAX_WIDTH),
        ("image_size", 784, 784),
    ):
        value = values.get(name, getattr(ModelConfig(), name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bounds = f"between {low} and {high}" if low != high else str(low)
            raise ValueError(f"{config_path}: {name} must be {bounds}, got {shown(value)}")
        sizes[name] = value
    return ModelConfig(**sizes)


def build_network(model_config: ModelConfig, discriminator: bool = False) -> Generator | Discriminator:
    """The generator a config describes, or its discriminator (same hidden and image sizes)."""
    if discriminator:
        return Discriminator(model_config.hidden_size, model_config.image_size)
    return Generator(**model_config.to_dict())


def check_weight_shapes(
    weights_path: Path, model_config: ModelConfig, config_path: Path, discriminator: bool = False
) -> None:
    """The tensors' names and shapes, read from the safetensors header, against the config (of the
    generator, or of the discriminator)."""
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = build_network(model_config, discriminator)
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    check_regular(weights_path)  # safetensors would wait on a FIFO, or map a device
    try:
        with safe_open(str(weights_path), framework="pt") as weights:
            found = {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}
    except FileNotFoundError:
        raise ValueError(f"{weights_path} is missing") from None
    except Exception as error:  # safetensors raises its own SafetensorError
        raise ValueError(f"{weights_path} is not a readable safetensors file ({first_line(error)})") from None
    wrong = sorted(name for name in set(found) | set(expected) if found.get(name) != expected.get(name))
    if wrong:
        name = wrong[0]
        raise ValueError(
            f"{weights_path} does not match {config_path} ({name}: {found.get(name, 'missing')}, the config "
            f"needs {expected.get(name, 'no such tensor')})"
        )


def read_network(run_dir: str | Path, discriminator: bool = False) -> Generator | Discriminator:
    """Rebuild the generator from config.json and load model.safetensors into it, strictly (or the
    discriminator, sized by the same config, from discriminator.safetensors).

    Both files are untrusted input: sizes are checked before anything is allocated, the tensors'
    shapes (from the file's header) before they are read, and the weights before they are served.
    A missing, damaged or foreign file is a ValueError that names it.
    """
    run_dir = Path(run_dir)
    model_config = read_model_config(run_dir / CONFIG_FILE)
    path = run_dir / (DISCRIMINATOR_FILE if discriminator else MODEL_FILE)
    check_weight_shapes(path, model_config, run_dir / CONFIG_FILE, discriminator)
    network = build_network(model_config, discriminator)
    network.load_state_dict(read_weights(path), strict=True)
    if not all(torch.isfinite(parameter).all() for parameter in network.parameters()):
        raise ValueError(f"{path} holds weights that are NaN or infinite")
    return network.eval()


def read_generator(run_dir: str | Path) -> Generator:
    """The run's generator (read_network), which must also draw digits that depend on the latent."""
    generator = read_network(run_dir)
    check_generator(generator, Path(run_dir) / MODEL_FILE)
    return generator


def read_discriminator(run_dir: str | Path) -> Discriminator:
    """The run's discriminator (read_network), for the app's views of D's scores."""
    return read_network(run_dir, discriminator=True)


def check_generator(generator: Generator, weights_path: Path) -> None:
    """Digits that depend on the latent: a constant generator is broken."""
    with torch.inference_mode():
        digits = generator(seeded_noise(0, 16, generator.latent_size))
    if float((digits.max(dim=0).values - digits.min(dim=0).values).max()) < 1e-3:
        raise ValueError(f"{weights_path} draws the same image for every latent: the generator is degenerate")


def load_run(run_dir: Path) -> tuple[Generator, History]:
    """The generator and history of a run directory already on disk."""
    return read_generator(run_dir), read_history(Path(run_dir) / HISTORY_FILE)
