"""Many runs of one recipe, one per seed, and their quality reported over the seeds.

`train.py --seeds 0-4` trains each seed's run into `--out/seed-N/`, a complete run directory
that resumes and pushes like any other. With the fused engine the runs train together, stacked
(fit_together.py): each starts within float rounding (about 1e-7) of the run `--seed N` gives, and
the GAN grows that difference step by step (on MNIST, about 1e-3 in the epoch means after epoch 1
and 1e-2 by epoch 5), so it becomes another run of the same recipe; otherwise one after the other,
each by fit() exactly as a single run, bit for bit.

One run's MNIST-FD is one draw: quality_over_seeds() gives each figure's mean over the seeds and
a 95% confidence interval (Student's t), which is what a recipe should be judged by.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

from gan_core.config import TrainConfig
from gan_core.runs.checkpoint import saved_epoch
from gan_core.runs.history import final_quality, read_history
from gan_core.runs.layout import HISTORY_FILE

MAX_SEEDS = 1024
QUALITY_OVER_SEEDS_FILE = "quality_over_seeds.json"  # in --out, beside the seed-N folders
MAX_SEED = 2**63 - 1
# Student's t at 97.5% for 1 to 30 degrees of freedom; past 30 the normal's 1.96 is within 4%.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)  # fmt: skip


def parse_seeds(text: str) -> list[int]:
    """'0,1,2', '0-31' or a mix ('0-3,7'), in the order given; a clear ValueError otherwise."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        if not low.isdecimal() or (dash and not high.isdecimal()):
            raise ValueError(f"expected seeds like 0,1,2 or 0-31, got {part!r}")
        first, last = int(low), int(high) if dash else int(low)
        if first > last:
            raise ValueError(f"the range {part} runs backwards; write {last}-{first}")
        if last > MAX_SEED:
            raise ValueError(f"a seed must be at most {MAX_SEED}, got {last}")
        if last - first + 1 + len(seeds) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds at once")
        seeds.extend(range(first, last + 1))
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ValueError(f"seed {repeated[0]} is given twice")
    return seeds


def seed_run_dir(out: str | Path, seed: int) -> Path:
    return Path(out) / f"seed-{seed}"


def seed_config(config: TrainConfig, seed: int) -> TrainConfig:
    """The single run of one seed: the same flags, its own seed and folder."""
    return dataclasses.replace(config, seed=seed, out=str(seed_run_dir(config.out, seed)))


def resumable(config: TrainConfig) -> bool:
    """Under --resume, a seed's run that never started (no folder yet) starts afresh."""
    return Path(config.out).is_dir() or saved_epoch(config.out) > 0


def confidence_interval(values: list[float]) -> tuple[float, float]:
    """(mean, half-width of its 95% interval); the half-width is nan for a single value."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    t = T_975[len(values) - 2] if len(values) - 1 <= len(T_975) else 1.96
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def quality_over_seeds(run_dirs: list[Path]) -> dict | None:
    """Each quality figure's (mean, 95% half-width, values) over the runs' last evaluations, and
    the digit shares likewise; None when fewer than one run was evaluated."""
    finals = [final_quality(read_history(Path(run) / HISTORY_FILE)) for run in run_dirs]
    qualities = [row["quality"] for row in finals if row is not None]
    if not qualities:
        return None
    epochs = [row["epoch"] for row in finals if row is not None]  # of each run's last evaluation
    figures = {}
    for name, label in (("mnist_fd", "MNIST-FD"), ("inception_score", "Inception Score")):
        values = [quality[name] for quality in qualities]
        figures[label] = (*confidence_interval(values), values)
    for digit in range(10):
        values = [100 * quality["digit_histogram"][digit] for quality in qualities]
        figures[f"share of {digit}s (%)"] = (*confidence_interval(values), values)
    return {"runs": len(qualities), "epochs": epochs, "figures": figures}


def quality_record(summary: dict, seeds: list[int]) -> dict:
    """The summary as JSON for OUT/quality_over_seeds.json: each figure's mean, the half-width of
    its 95% interval (null for one run) and the runs' values."""
    return {
        "seeds": seeds,
        "runs_evaluated": summary["runs"],
        "evaluated_at_epochs": summary["epochs"],  # each value's epoch: a resumed list may mix them
        "figures": {
            name: {"mean": mean, "half_width_95": half if math.isfinite(half) else None, "values": values}
            for name, (mean, half, values) in summary["figures"].items()
        },
    }


def quality_table(summary: dict) -> str:
    """The figures as lines of 'name: mean ± half-width (n runs)'."""
    runs, epochs = summary["runs"], sorted(set(summary["epochs"]))
    at = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]} to {epochs[-1]}"
    lines = [f"quality over {runs} seed{'s' if runs > 1 else ''} at {at} (mean ± 95% interval):"]
    for name, (mean, half, _) in summary["figures"].items():
        spread = f" ± {half:.2f}" if math.isfinite(half) else " (one run: no interval)"
        lines.append(f"  {name:18} {mean:.2f}{spread}")
    return "\n".join(lines)
