"""The cost of the nearest-image index and of live training, in a running app.

    python benchmarks/nearest_and_live.py --mnist ../shared/data

Launches `python app.py` without and then with MNIST_DIR, and measures: how long the index takes
to be ready, what it adds to the app's resident memory (VmRSS, and the peak VmHWM), /nearest's
latency (k = 16, 20 calls), a 30 s /train_live run of each recipe (steps per second, on its one
CPU thread), and /generate's latency while a live run trains beside it. Writes
benchmarks/results/nearest_and_live.json.
"""

from __future__ import annotations

import argparse
import json
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


def memory_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder holding MNIST/raw/")
    parser.add_argument("--live-seconds", type=int, default=30)
    args = parser.parse_args()
    # The same app without MNIST_DIR, warmed up by one call: the memory the index adds to.
    plain, plain_url = start_app()
    try:
        Client(plain_url, verbose=False).predict(seed=1, count=16, api_name="/generate")
        without_index = memory_mb(plain.pid)
    finally:
        stop(plain)
    process, url = start_app({"MNIST_DIR": str(Path(args.mnist).resolve())})
    try:
        client = Client(url, verbose=False)
        before = memory_mb(process.pid)
        began = time.monotonic()
        while True:
            try:
                client.predict(seed=0, index=0, k=1, api_name="/nearest")
                break
            except Exception as error:
                if "still being built" not in str(error):
                    raise
                time.sleep(0.25)
        indexed_s = time.monotonic() - began
        after = memory_mb(process.pid)
        nearest = timed(lambda: client.predict(seed=42, index=3, k=16, api_name="/nearest"), 20)
        generate_alone = timed(lambda: client.predict(seed=1, count=16, api_name="/generate"), 20)
        live = {}
        for recipe in ("tutorial", "improved"):
            updates = list(
                client.submit(recipe=recipe, seconds=args.live_seconds, seed=0, api_name="/train_live")
            )
            status = updates[-1][2]
            live[recipe] = {
                "updates": len(updates),
                "final_status": status,
                "steps": int(status.split("step ")[1].split(" ")[0].replace(",", "")),
            }
            live[recipe]["steps_per_second"] = live[recipe]["steps"] / args.live_seconds
        # /generate while a live run trains on its one thread
        other = Client(url, verbose=False)
        job = other.submit(recipe="improved", seconds=20, seed=1, api_name="/train_live")
        time.sleep(5)
        generate_beside = timed(lambda: client.predict(seed=1, count=16, api_name="/generate"), 20)
        job.result()
        final = memory_mb(process.pid)
    finally:
        stop(process)
    p50 = lambda values: round(1000 * statistics.median(values), 1)  # noqa: E731
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "index_ready_s": round(indexed_s, 1),
        "memory_mb": {
            "app_without_mnist": without_index,
            "as_the_index_starts": before,
            "index_ready": after,
            "after_live_runs": final,
        },
        "index_extra_rss_mb": round(after["VmRSS"] - without_index["VmRSS"], 1),
        "index_extra_peak_mb": round(after["VmHWM"] - without_index["VmHWM"], 1),
        "nearest_k16_ms": {"p50": p50(nearest), "max": round(1000 * max(nearest), 1)},
        "generate_16_ms": {
            "alone_p50": p50(generate_alone),
            "beside_live_training_p50": p50(generate_beside),
        },
        "live": live,
    }
    print(json.dumps(result, indent=2))
    write_result(ROOT / "benchmarks" / "results", "nearest_and_live.json", result)


if __name__ == "__main__":
    main()
