"""The run directory on disk: atomic writes, safetensors weights, and the resume state.

Every file is written to a temporary name in the same folder, flushed to disk, then renamed
over the old one, so a crash or Ctrl-C leaves either the old file or the new one, never half.
training_state.pt is written last and alone decides where `--resume` continues: it holds both
networks, both optimizers, the RNG state and the history of the last finished epoch.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save

MODEL_FILE = "model.safetensors"  # the published generator: the EMA weights when EMA is on
RAW_MODEL_FILE = "generator_raw.safetensors"  # with EMA on, the last step's weights beside it
DISCRIMINATOR_FILE = "discriminator.safetensors"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
SCORES_FILE = "scores.png"
CARD_FILE = "README.md"
STATE_FILE = "training_state.pt"
REAL_IMAGES_FILE = "real_images.png"
SAMPLES_DIR = "samples"


def sample_path(run_dir: str | Path, epoch: int) -> Path:
    return Path(run_dir) / SAMPLES_DIR / f"epoch_{epoch:04d}.png"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, value: dict) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, allow_nan=False) + "\n")


def state_dict_bytes(module: torch.nn.Module, metadata: dict[str, str] | None = None) -> bytes:
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    return save(tensors, metadata=metadata)


def write_weights(path: str | Path, module: torch.nn.Module, metadata: dict[str, str] | None = None) -> None:
    atomic_write_bytes(path, state_dict_bytes(module, metadata))


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a truncated or foreign file is a clear ValueError."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is missing")
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own SafetensorError
        raise ValueError(f"{path} is not a readable safetensors file ({error})") from None


def write_training_state(run_dir: str | Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(run_dir) / STATE_FILE, buffer.getvalue())


def read_training_state(run_dir: str | Path) -> dict:
    """weights_only=True: a resume file can hold tensors and plain containers, never code."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise ValueError(f"nothing to resume: {path} does not exist (train without --resume first)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path} is damaged and cannot be resumed from ({reason})") from None


def saved_epoch(run_dir: str | Path) -> int:
    """The epoch --resume would continue after (0 when there is none or it cannot be read)."""
    try:
        return int(read_training_state(run_dir)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


# --------------------------------------------------------------------------------------------- #
# The run directory during training                                                             #
# --------------------------------------------------------------------------------------------- #

def refuse_to_overwrite(run_dir: str | Path) -> None:
    """A fresh run never silently replaces a finished or half-finished one."""
    state_path = Path(run_dir) / STATE_FILE
    if state_path.exists() or (Path(run_dir) / MODEL_FILE).exists():
        raise ValueError(f"{Path(run_dir)} already holds a run; pass --resume to continue it, "
                         f"or choose another --out")


def read_resume_state(run_dir: str | Path, config) -> dict:
    """Load training_state.pt and check the flags agree with the run being resumed."""
    state = read_training_state(run_dir)
    saved = state.get("history", {}).get("config", {})
    given = lambda value: "not given" if value is None else f"{value!r}"  # None: the flag was left to the recipe
    differences = [f"--{key.replace('_', '-')} is {given(getattr(config, key))} but the run used {given(saved[key])}"
                   for key in config.RESUME_KEYS if key in saved and saved[key] != getattr(config, key)]
    # A recipe's definition can change between releases (as "improved" did); the run keeps what
    # it resolved to when it started, so a changed recipe is refused rather than mixed in.
    if not differences:
        resolved_now = config.to_dict()["resolved"]
        differences = [f"--recipe {config.recipe} now means {key} = {resolved_now[key]!r}, but the run used {value!r}"
                       for key, value in saved.get("resolved", {}).items()
                       if key in resolved_now and resolved_now[key] != value]
    if differences:
        raise ValueError(f"cannot resume {Path(run_dir)}: " + "; ".join(differences))
    return state


def start_history(config, device: torch.device, prior: dict | None) -> dict:
    from .history import new_history

    if prior is not None:
        history = prior["history"]
        history["config"] = config.to_dict()  # epochs, device... may change on resume
    else:
        history = new_history(config.to_dict(), {"training_seconds": 0.0})
    history["meta"].update(device_metadata(device))
    return history


def device_metadata(device: torch.device) -> dict:
    import platform

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return {"device": device.type, "device_name": name, "torch": str(torch.__version__)}


def load_resume_state(state, prior: dict, device: torch.device) -> None:
    state.generator.load_state_dict(prior["generator"])
    state.discriminator.load_state_dict(prior["discriminator"])
    state.g_optimizer.load_state_dict(prior["g_optimizer"])
    state.d_optimizer.load_state_dict(prior["d_optimizer"])
    if state.ema is not None and prior.get("ema") is not None:
        state.ema.load_state_dict(prior["ema"])
    torch.set_rng_state(prior["cpu_rng"])
    if device.type == "cuda" and prior.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(prior["cuda_rng"])


def write_static_files(run_dir: str | Path, config, real_images: torch.Tensor) -> None:
    """config.json (the generator's init args) and one grid of real images to compare against."""
    from .images import digit_grid, png_bytes
    from .data import to_model_range

    write_json(Path(run_dir) / CONFIG_FILE, config.model.to_dict())
    if not (Path(run_dir) / REAL_IMAGES_FILE).exists():
        atomic_write_bytes(Path(run_dir) / REAL_IMAGES_FILE,
                           png_bytes(digit_grid(to_model_range(real_images.cpu()), columns=8)))


def published_generator(state):
    """The generator a run publishes: the EMA of its weights when there is one."""
    return state.ema if state.ema is not None else state.generator


def record_epoch(state, history: dict, epoch: int, means: dict, seconds: float, sample_noise: torch.Tensor | None,
                 device: torch.device, extra: dict | None = None) -> dict:
    """Add the epoch to the history and copy everything its files need to the CPU, so that the
    files can be written on another thread while the device trains the next epoch."""
    from .history import epoch_record

    history["epochs"].append({**epoch_record(epoch, means, seconds), **(extra or {})})  # quality figures, lr
    history["meta"]["training_seconds"] = round(history["meta"].get("training_seconds", 0.0) + seconds, 3)
    samples = None
    if sample_noise is not None:
        with torch.no_grad():
            samples = published_generator(state)(sample_noise).cpu()  # no dropout or batch norm: no eval() needed
    return {
        "epoch": epoch,
        "samples": samples,
        "history": json.loads(json.dumps(history)),
        "resume": _cpu_copy({
            "epoch": epoch,
            "generator": state.generator.state_dict(),
            "discriminator": state.discriminator.state_dict(),
            "g_optimizer": state.g_optimizer.state_dict(),
            "d_optimizer": state.d_optimizer.state_dict(),
            "cpu_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "ema": state.ema.state_dict() if state.ema is not None else None,
        }),
    }


def _cpu_copy(value):
    """Deep copy with every tensor cloned to the CPU: training goes on changing the originals."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(item) for item in value)
    return value


def write_epoch(run_dir: str | Path, record: dict) -> None:
    """The epoch's files. training_state.pt goes last: until it is renamed into place,
    --resume continues from the previous epoch."""
    from .history import history_to_json
    from .images import digit_grid, png_bytes

    run_dir, epoch, resume = Path(run_dir), record["epoch"], record["resume"]
    if record["samples"] is not None:
        atomic_write_bytes(sample_path(run_dir, epoch), png_bytes(digit_grid(record["samples"], columns=8)))
    stamp = {"epoch": str(epoch)}
    if resume["ema"] is not None:
        atomic_write_bytes(run_dir / MODEL_FILE, save(resume["ema"], metadata={**stamp, "weights": "ema"}))
        atomic_write_bytes(run_dir / RAW_MODEL_FILE, save(resume["generator"], metadata=stamp))
    else:
        atomic_write_bytes(run_dir / MODEL_FILE, save(resume["generator"], metadata=stamp))
    atomic_write_bytes(run_dir / DISCRIMINATOR_FILE, save(resume["discriminator"], metadata=stamp))
    atomic_write_text(run_dir / HISTORY_FILE, history_to_json(record["history"]))
    write_training_state(run_dir, {**resume, "history": record["history"]})


class EpochWriter:
    """Writes each epoch's files on one background thread, in order, at most one epoch behind.

    A write error (full disk, read-only folder) surfaces at the next epoch or at close();
    close() also waits for the last write, so Ctrl-C still leaves the finished epoch on disk.
    """

    def __init__(self, run_dir: str | Path):
        from concurrent.futures import ThreadPoolExecutor

        self.run_dir = Path(run_dir)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoch-writer")
        self.pending = None

    def submit(self, record: dict) -> None:
        self.wait()
        self.pending = self.pool.submit(write_epoch, self.run_dir, record)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


def write_summary(run_dir: str | Path, history: dict) -> None:
    """scores.png and the model card: written when training stops, not every epoch (a plot
    costs more than a whole epoch on a GPU)."""
    from .model_card import model_card
    from .plots import scores_png

    run_dir = Path(run_dir)
    if history["epochs"]:
        atomic_write_bytes(run_dir / SCORES_FILE, scores_png(history))
    atomic_write_text(run_dir / CARD_FILE, model_card(history, run_dir))
