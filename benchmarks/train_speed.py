"""Training speed: the seed's loop vs our eager path vs our CUDA-graph path, in one process.

Our paths are timed for --recipe tutorial (the same algorithm as the tutorial's loop) and for --recipe
improved (which adds D's R1 penalty), each with the fused engine (the default; "ours", "improved")
and with the autograd reference step ("autograd").

    python benchmarks/train_speed.py --data-dir ../shared/data --device cpu --tutorial-epochs 3 \
        --eager-epochs 3
    python benchmarks/train_speed.py --data-dir data --device cuda      # also times the graph path

Prints a table (median seconds per epoch, steps per second, speed-up against the seed) and writes
JSON with the device name to benchmarks/results/. On CUDA it also compares the per-epoch history of
the eager and graph paths started from the same seed (they should agree within a tolerance).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import write_result  # noqa: E402
from benchmarks.tutorial_reference import run_tutorial_loop  # noqa: E402
from gan_core.config import TrainConfig  # noqa: E402
from gan_core.data import load_mnist_images  # noqa: E402
from gan_core.runs.history import STAT_NAMES  # noqa: E402
from gan_core.training.epochs import EagerEpoch, GraphEpoch  # noqa: E402
from gan_core.training.state import build_state, configure_cuda_math, device_metadata, resolve_device  # noqa: E402


class TimedPath:
    """One of our paths, built once and timed an epoch at a time (so that paths can take turns)."""

    def __init__(self, config: TrainConfig, device: torch.device, images: torch.Tensor, graphs: bool):
        torch.manual_seed(config.seed)
        state = build_state(config, device, capturable=graphs)
        setup_start = time.perf_counter()
        runner_class = GraphEpoch if graphs else EagerEpoch
        self.runner = runner_class(state, images, config.batch_size)
        self.setup_seconds = time.perf_counter() - setup_start
        self.seconds, self.history = [], []

    def epoch(self) -> None:
        start = time.perf_counter()
        means = (self.runner.run() / self.runner.steps).tolist()  # the one host read, as in fit()
        self.seconds.append(time.perf_counter() - start)
        self.history.append(dict(zip(STAT_NAMES, means, strict=True)))

    def result(self) -> dict:
        return {
            "epoch_seconds": self.seconds,
            "setup_seconds": self.setup_seconds,
            "steps_per_epoch": self.runner.steps,
            "history": self.history,
        }


def time_our_path(
    config: TrainConfig, device: torch.device, images: torch.Tensor, epochs: int, graphs: bool
) -> dict:
    path = TimedPath(config, device, images, graphs)
    for _ in range(epochs):
        path.epoch()
    return path.result()


def summarise(name: str, result: dict, tutorial_median: float | None) -> dict:
    median = statistics.median(result["epoch_seconds"])
    row = {
        "path": name,
        "epochs": len(result["epoch_seconds"]),
        "median_epoch_seconds": median,
        "steps_per_second": result["steps_per_epoch"] / median,
        "setup_seconds": result.get("setup_seconds", 0.0),
        "speedup_vs_tutorial": (tutorial_median / median) if tutorial_median else None,
    }
    row["estimated_300_epoch_seconds"] = 300 * median * (600 / result["steps_per_epoch"])
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu", "mps"))
    parser.add_argument("--subset", type=int, default=None, help="first N images (default: all 60,000)")
    parser.add_argument("--tutorial-epochs", type=int, default=2)
    parser.add_argument("--eager-epochs", type=int, default=3)
    parser.add_argument("--graph-epochs", type=int, default=20, help="CUDA only")
    parser.add_argument(
        "--compile", action="store_true", help="CUDA only: also time the graph path with torch.compile"
    )
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    if device.type == "cuda":
        configure_cuda_math()
    config = TrainConfig(data_dir=args.data_dir, subset=args.subset, recipe="tutorial")
    images = load_mnist_images(args.data_dir, subset=args.subset, download=False).to(device)
    # Each recipe through both engines (the fused default, and the autograd reference step).
    # --recipe improved adds the R1 penalty: autograd runs it as a double backward through D.
    improved = replace(config, recipe="improved")
    reference, improved_reference = replace(config, engine="autograd"), replace(improved, engine="autograd")
    eager = {
        "ours, eager": TimedPath(config, device, images, graphs=False),
        "improved, eager": TimedPath(improved, device, images, graphs=False),
        "autograd, eager": TimedPath(reference, device, images, graphs=False),
        "improved autograd": TimedPath(improved_reference, device, images, graphs=False),
    }
    # The tutorial's loop and the eager paths take turns, an epoch each: a shared machine's slow
    # spells then fall on every path alike instead of on whichever ran during them.
    tutorial_seconds = []
    for round_ in range(max(args.tutorial_epochs, args.eager_epochs)):
        if round_ < args.tutorial_epochs:
            tutorial_seconds += run_tutorial_loop(
                args.data_dir, 1, device.type, args.subset, log=lambda *_: None
            )
        for path in eager.values():
            if round_ < args.eager_epochs:
                path.epoch()
    raw = {
        "tutorial's loop": {
            "epoch_seconds": tutorial_seconds,
            "steps_per_epoch": len(images) // config.batch_size,
        }
    }
    raw |= {name: path.result() for name, path in eager.items()}
    if device.type == "cuda":
        raw["ours, CUDA graphs"] = time_our_path(config, device, images, args.graph_epochs, graphs=True)
        raw["improved, graphs"] = time_our_path(improved, device, images, args.graph_epochs, graphs=True)
        raw["autograd, graphs"] = time_our_path(reference, device, images, args.graph_epochs, graphs=True)
        raw["improved autograd, graphs"] = time_our_path(
            improved_reference, device, images, args.graph_epochs, graphs=True
        )
        for name, recipe_config in (("triton, graphs", config), ("improved triton, graphs", improved)):
            try:  # the Triton kernels: report a failure, keep the other rows
                raw[name] = time_our_path(
                    replace(recipe_config, engine="triton"), device, images, args.graph_epochs, graphs=True
                )
            except Exception as error:
                print(f"{name} failed: {type(error).__name__}: {error}")
        if args.compile:
            try:
                raw["graphs + compile"] = time_our_path(
                    replace(config, compile=True), device, images, args.graph_epochs, graphs=True
                )
            except Exception as error:  # report, keep the other rows
                print(f"graphs + compile failed: {type(error).__name__}: {error}")

    tutorial_median = statistics.median(raw["tutorial's loop"]["epoch_seconds"])
    rows = [summarise(name, result, tutorial_median) for name, result in raw.items()]
    report = {
        "device": device_metadata(device),
        "images": len(images),
        "batch_size": config.batch_size,
        "rows": rows,
        "raw": raw,
    }
    if "ours, CUDA graphs" in raw:
        report["eager_vs_graphs_max_abs_difference"] = max_history_difference(
            raw["ours, eager"]["history"], raw["ours, CUDA graphs"]["history"]
        )
    if "improved, graphs" in raw:  # the default recipe (R1 differentiated twice inside the graph)
        report["improved_eager_vs_graphs_max_abs_difference"] = max_history_difference(
            raw["improved, eager"]["history"], raw["improved, graphs"]["history"]
        )
    if "graphs + compile" in raw:
        report["eager_vs_compiled_graphs_max_abs_difference"] = max_history_difference(
            raw["ours, eager"]["history"], raw["graphs + compile"]["history"]
        )

    print(f"device: {report['device']['device_name']}, {len(images)} images, batch {config.batch_size}")
    print(f"{'path':<26} {'s/epoch':>9} {'steps/s':>9} {'vs tutorial':>12} {'300 epochs':>11} {'setup s':>8}")
    for row in rows:
        print(
            f"{row['path']:<26} {row['median_epoch_seconds']:>9.3f} {row['steps_per_second']:>9.0f} "
            f"{row['speedup_vs_tutorial']:>11.1f}x {row['estimated_300_epoch_seconds']:>10.1f}s "
            f"{row['setup_seconds']:>8.2f}"
        )
    for key in (
        "eager_vs_graphs_max_abs_difference",
        "improved_eager_vs_graphs_max_abs_difference",
        "eager_vs_compiled_graphs_max_abs_difference",
    ):
        if key in report:
            print(f"{key.replace('_', ' ')} (epoch means, first epochs):", json.dumps(report[key]))
    write_result(args.results_dir, f"train_speed_{device.type}.json", report)
    return 0


def max_history_difference(first: list[dict], second: list[dict]) -> dict:
    epochs = min(len(first), len(second))
    return {
        name: max(abs(first[i][name] - second[i][name]) for i in range(epochs)) for name in STAT_NAMES
    } | {"epochs_compared": epochs}


if __name__ == "__main__":
    sys.exit(main())
