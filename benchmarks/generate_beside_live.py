"""/generate's latency alone and while a live run trains beside it, in a running app.

    python benchmarks/generate_beside_live.py --mnist ../shared/data

Launches `python app.py` with MNIST_DIR, then times --calls calls of /generate (16 digits) from
one gradio_client, first alone, then while another client streams a live run of each recipe (the
child at nice 19 on one thread, as the app starts it). Writes
benchmarks/results/generate_beside_live.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import timed, write_result  # noqa: E402
from tests.helpers import start_app, stop  # noqa: E402


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder holding MNIST/raw/")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    process, url = start_app({"MNIST_DIR": str(Path(args.mnist).resolve())})
    try:
        client = Client(url, verbose=False)
        generate = lambda: client.predict(seed=1, count=16, api_name="/generate")  # noqa: E731
        timed(generate, 5)  # warm up
        time.sleep(30)  # the nearest-image index is built by then (it would weigh on "alone")
        result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "calls": args.calls}
        result["alone"] = summary(timed(generate, args.calls))
        for recipe in ("tutorial", "improved"):
            runner = Client(url, verbose=False)
            job = runner.submit(recipe=recipe, seconds=120, seed=1, api_name="/train_live")
            while job.status().code.name != "ITERATING":  # its first update has come: it trains
                time.sleep(0.2)
            result[f"beside_live_{recipe}"] = summary(timed(generate, args.calls))
            job.cancel()
            time.sleep(3)
    finally:
        stop(process)
    print(result)
    write_result(args.results_dir, "generate_beside_live.json", result)


if __name__ == "__main__":
    main()
