"""MNIST as one uint8 tensor on the training device: no DataLoader, no per-sample transforms."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import socket
import struct
import sys
from contextlib import contextmanager
from pathlib import Path

import torch

from gan_core.messages import first_line

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# Seconds a read of the MNIST download may wait before it fails (a stalled mirror or proxy);
# MNIST_READ_TIMEOUT sets it, for a slow link.
DOWNLOAD_TIMEOUT_S = 20.0


def download_timeout(environ=os.environ) -> float:
    """MNIST_READ_TIMEOUT's seconds (more than 0, under an hour), else the default with a warning."""
    text = environ.get("MNIST_READ_TIMEOUT", "").strip()
    if not text:
        return DOWNLOAD_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if 0 < seconds < 3600:
        return seconds
    print(f"warning: MNIST_READ_TIMEOUT={text[:40]!r} is not a number of seconds from 0 to 3600; using "
          f"{DOWNLOAD_TIMEOUT_S:g}", file=sys.stderr)  # fmt: skip
    return DOWNLOAD_TIMEOUT_S


class DataError(RuntimeError):
    """The data set cannot be read; the message names the path and what is expected there."""


def raw_folder(data_dir: str | Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def load_mnist_images(
    data_dir: str | Path, *, train: bool = True, download: bool = True, subset: int | None = None
) -> torch.Tensor:
    """Return MNIST images as a (N, 784) uint8 tensor, read by torchvision's IDX reader.

    With `download`, torchvision fetches the files when they are absent (where there is internet).
    """
    return load_mnist(data_dir, train=train, download=download, subset=subset)[0]


def load_mnist(
    data_dir: str | Path, *, train: bool = True, download: bool = True, subset: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images as (N, 784) uint8, labels as (N,) int64) of the training or the test set."""
    folder = raw_folder(data_dir)
    names = MNIST_FILES[:2] if train else MNIST_FILES[2:]
    if all((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in names):
        # Read here, plain or gzipped: torchvision's reader wants the plain files and, finding only
        # the .gz ones a mirror hands out, would try to download them again.
        images, labels = read_mnist_idx(data_dir, train=train)
        return (images[:subset], labels[:subset]) if subset is not None else (images, labels)
    from torchvision.datasets import MNIST  # deferred: only a download needs torchvision

    created = [path for path in (Path(data_dir), Path(data_dir) / "MNIST", folder) if not path.exists()]
    try:
        with socket_timeout(download_timeout()):
            dataset = MNIST(root=str(data_dir), train=train, download=download)
        images, labels = dataset.data, dataset.targets
    except Exception as error:  # torchvision raises RuntimeError, ValueError, URLError, OSError...
        _remove_empty(reversed(created))  # a failed download leaves no empty folders behind
        raise DataError(
            f"cannot read MNIST from {folder.resolve()}: expected the IDX files "
            f"{', '.join(MNIST_FILES)} (or .gz) there ({first_line(error)})"
        ) from None
    if images.dtype != torch.uint8 or images.ndim != 3 or tuple(images.shape[1:]) != (28, 28):
        raise DataError(
            f"MNIST in {folder.resolve()} is damaged: expected 28x28 uint8 images, "
            f"got {tuple(images.shape)} {images.dtype}"
        )
    if subset is not None:
        images, labels = images[:subset], labels[:subset]
    return images.reshape(len(images), -1).contiguous(), labels


def read_mnist_idx(data_dir: str | Path, *, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(images as (N, 784) uint8, labels) from the IDX files (or .gz) under <data_dir>/MNIST/raw,
    read without torchvision: the app needs them for the nearest-image check, and importing
    torchvision would cost it 160 MB of memory. The format is a 4-byte magic (0, 0, 0x08 for
    unsigned bytes, the number of dimensions), the sizes as big-endian uint32, then the bytes."""
    folder = raw_folder(data_dir)
    arrays = []
    for name in MNIST_FILES[:2] if train else MNIST_FILES[2:]:
        path = folder / name if (folder / name).is_file() else folder / f"{name}.gz"
        try:
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            zero, kind, dimensions = data[0:2], data[2], data[3]
            sizes = struct.unpack(f">{dimensions}I", data[4 : 4 + 4 * dimensions])
            if zero != b"\0\0" or kind != 0x08 or len(data) != 4 + 4 * dimensions + math.prod(sizes):
                raise ValueError("not an IDX file of unsigned bytes, or cut short")
        except (OSError, ValueError, IndexError, struct.error, gzip.BadGzipFile) as error:
            raise DataError(
                f"cannot read MNIST from {folder.resolve()}: {name}: {first_line(error)}"
            ) from None
        arrays.append(
            torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=4 + 4 * dimensions).reshape(sizes)
        )
    images, labels = arrays
    if images.ndim != 3 or tuple(images.shape[1:]) != (28, 28) or len(labels) != len(images):
        raise DataError(
            f"MNIST in {folder.resolve()} is damaged: {tuple(images.shape)} images, {len(labels)} labels"
        )
    return images.reshape(len(images), -1), labels.long()


def fingerprint(data_dir: str | Path, subset: int | None) -> dict:
    """What --resume checks the data against: the training files' sizes and hashes, and the subset."""
    files = {}
    for name in MNIST_FILES[:2]:  # the training images and labels
        for candidate in (raw_folder(data_dir) / name, raw_folder(data_dir) / f"{name}.gz"):
            if candidate.is_file():
                digest = hashlib.sha256(candidate.read_bytes()).hexdigest()
                files[candidate.name] = {"bytes": candidate.stat().st_size, "sha256": digest}
                break
    return {"files": files, "subset": subset}


def check_same_data(out: Path, recorded: dict | None, data: dict) -> None:
    """--resume continues on the data the run started on (older runs recorded none)."""
    if recorded is None or recorded == data:
        return
    names = sorted(set(recorded.get("files", {})) | set(data["files"]))
    differ = [_change(name, recorded.get("files", {}).get(name), data["files"].get(name)) for name in names]
    if recorded.get("subset") != data["subset"]:
        differ.append(f"--subset {recorded.get('subset')} became {data['subset']}")
    changes = "; ".join(change for change in differ if change)
    raise ValueError(
        f"cannot resume {out}: the training data differ from the run's ({changes}); point --data-dir at "
        f"the data it was trained on"
    )


def _change(name: str, before: dict | None, now: dict | None) -> str | None:
    if before == now:
        return None
    if before is None or now is None:
        return f"{name} {'is new' if before is None else 'is missing'}"
    return f"{name} has other contents (sha256 {now['sha256'][:12]}..., the run's {before['sha256'][:12]}...)"


@contextmanager
def socket_timeout(seconds: float):
    """torchvision's download opens its URLs without a timeout: a mirror or proxy that stalls would
    hang the run silently. Within this block each read waits at most `seconds`."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _remove_empty(folders) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty, or never made: leave it
            pass


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the tutorial's ToTensor() + Normalize(mean=0.5, std=0.5)."""
    return images.float().div_(127.5).sub_(1.0)


def from_model_range(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> float [0, 1]: the `denorm` helper the tutorial uses but never defines."""
    return images.add(1.0).div_(2.0).clamp_(0.0, 1.0)
