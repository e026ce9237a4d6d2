"""N runs at once (gan_core.training.engines.stacked) against one run of the fused step, per training step.

    python benchmarks/stacked_runs.py --device cpu --runs 1,2,4,8
    python benchmarks/stacked_runs.py --device cuda --runs 1,8,32     # the goal: 32 runs in <= 2x one

Times steps on random batches of the tutorial's sizes (batch 100), so no data set is needed, and
writes benchmarks/results/stacked_runs_<device>.json with the device's name.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import write_result  # noqa: E402
from gan_core.config import TrainConfig  # noqa: E402
from gan_core.training.engines.stacked import StackedRuns  # noqa: E402
from gan_core.training.state import build_state, device_metadata, resolve_device  # noqa: E402


def seconds_per_step(step, batch_maker, device, steps: int, rounds: int = 5) -> float:
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(5):
        step(batch_maker())
    sync()
    times = []
    for _ in range(rounds):
        batches = [batch_maker() for _ in range(steps)]
        sync()
        start = time.perf_counter()
        for batch in batches:
            step(batch)
        sync()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    parser.add_argument("--runs", default="1,2,4,8", help="comma-separated numbers of runs")
    parser.add_argument("--recipe", default="improved", choices=("improved", "tutorial"))
    parser.add_argument("--steps", type=int, default=40, help="steps per timed round")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    config = TrainConfig(recipe=args.recipe, device=device.type)
    batch = config.batch_size

    torch.manual_seed(0)
    single = build_state(config, device)
    one = seconds_per_step(
        single.run_step, lambda: torch.rand(batch, 784, device=device) * 2 - 1, device, args.steps
    )
    rows = [{"runs": 1, "engine": "fused (one run)", "ms_per_step": one * 1e3, "vs_one_run": 1.0}]
    for count in [int(text) for text in args.runs.split(",")]:
        runs = StackedRuns.fresh(config, list(range(count)), device)
        batches = lambda shape=(count, batch, 784): torch.rand(shape, device=device) * 2 - 1
        seconds = seconds_per_step(runs.step, batches, device, args.steps)
        rows.append(
            {"runs": count, "engine": "stacked", "ms_per_step": seconds * 1e3, "vs_one_run": seconds / one}
        )
    report = {"device": device_metadata(device), "recipe": args.recipe, "batch_size": batch, "rows": rows}
    print(f"device: {report['device']['device_name']}, recipe {args.recipe}, batch {batch}")
    print(f"{'engine':<18} {'runs':>5} {'ms/step':>9} {'x one run':>10} {'per run':>9}")
    for row in rows:
        per_run = row["ms_per_step"] / row["runs"]
        print(
            f"{row['engine']:<18} {row['runs']:>5} {row['ms_per_step']:>9.2f} "
            f"{row['vs_one_run']:>9.2f}x {per_run:>8.2f}"
        )
    write_result(args.results_dir, f"stacked_runs_{device.type}.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
