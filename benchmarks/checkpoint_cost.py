"""An epoch's checkpoint cost against the length of the run's history: is it flat?

    python benchmarks/checkpoint_cost.py                     # histories of 10 to 100,000 epochs
    python benchmarks/checkpoint_cost.py --rows 10 1000 --epochs 20

For each history length it builds the training state of the default networks, gives it a history
of that many rows, then times --epochs checkpoints as training makes them: record_epoch (on the
training thread) and write_epoch (the background writer: weights, sample grid, history.json or its
journal, training_state.pt). Beside them, the cost of what each checkpoint did before the history's
rows moved out of training_state.pt: a deep copy of the history, history.json rewritten whole, and
the history pickled into the state. Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.config import TrainConfig  # noqa: E402
from gan_core.io import write_json  # noqa: E402
from gan_core.latent import seeded_noise  # noqa: E402
from gan_core.runs.history import epoch_record, new_history  # noqa: E402
from gan_core.runs.writer import HistoryFiles, record_epoch, write_epoch  # noqa: E402
from gan_core.training.state import build_state  # noqa: E402


def fake_row(epoch: int) -> dict:
    return epoch_record(epoch, {"d_loss": 1.2345, "g_loss": 0.8765, "d_x": 0.51, "d_g_z": 0.49}, 0.177)


def measure(rows: int, epochs: int) -> dict:
    torch.manual_seed(0)
    device = torch.device("cpu")
    state = build_state(TrainConfig(), device)
    noise = seeded_noise(0, 64, 64)
    history = new_history(TrainConfig().to_dict(), {"training_seconds": 0.0})
    history["epochs"] = [fake_row(n) for n in range(1, rows + 1)]
    now, before = [], []
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        files = HistoryFiles(run_dir, history)
        for epoch in range(rows + 1, rows + epochs + 1):
            start = time.perf_counter()
            record = record_epoch(state, history, fake_row(epoch), noise, device)
            write_epoch(run_dir, record, files)
            now.append(time.perf_counter() - start)
            # What the same checkpoint also did before: the whole history, three times over.
            start = time.perf_counter()
            whole = copy.deepcopy(history)
            write_json(run_dir / "whole_history.json", whole)
            torch.save({"history": whole}, io.BytesIO())
            before.append(time.perf_counter() - start)
        journal = run_dir / "history_journal.jsonl"
        journal_rows = len(journal.read_text().splitlines()) if journal.exists() else 0
    return {
        "history_rows": rows,
        "checkpoint_ms_median": round(1000 * statistics.median(now), 2),
        "checkpoint_ms_max": round(1000 * max(now), 2),
        "whole_history_extra_ms_median": round(1000 * statistics.median(before), 2),
        "rows_left_in_journal": journal_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10, 1_000, 10_000, 100_000])
    parser.add_argument("--epochs", type=int, default=30, help="checkpoints timed per history length")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the background writer runs: beside training, on one core
    machine = f"{platform.machine()}, {torch.get_num_threads()} thread, torch {torch.__version__}"
    results = [measure(rows, args.epochs) for rows in args.rows]
    print(f"checkpoint cost per epoch ({args.epochs} epochs per length; {machine})")
    print(f"{'history rows':>12} | {'median ms':>9} | {'max ms':>7} | {'whole-history ms (before)':>25}")
    for row in results:
        cells = (row["checkpoint_ms_median"], row["checkpoint_ms_max"], row["whole_history_extra_ms_median"])
        print(f"{row['history_rows']:>12,} | {cells[0]:>9.1f} | {cells[1]:>7.1f} | {cells[2]:>25.1f}")
    out = Path(args.results_dir) / "checkpoint_cost.json"
    out.write_text(
        json.dumps({"machine": machine, "epochs_per_length": args.epochs, "results": results}, indent=2)
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
