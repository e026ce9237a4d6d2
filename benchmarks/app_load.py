"""The app under a crowd: many gradio_client users at once for a fixed time, every request accounted for.

    python benchmarks/app_load.py                        # 32 clients for 60 s, the app's queue (64)
    python benchmarks/app_load.py --queue-size 8         # a queue smaller than the crowd: some hear "busy"

Launches `python app.py` (QUEUE_MAX_SIZE set from --queue-size), then each client sends
/generate (16 digits) and /interpolate calls back to back until the time is up. Every request
ends as exactly one of: answered (and byte-identical to every other answer to the same input),
refused because the queue is full (Gradio's HTTP 503, "Queue is full! Please try again."),
failed with another error, or lost (no answer within --request-timeout). Samples the app's
resident memory every half second and reads its peak (VmHWM) at the end. Prints a summary and
writes JSON to benchmarks/results/ (or --json).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from gradio_client import Client
from gradio_client.utils import QueueError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import write_result  # noqa: E402
from tests.helpers import start_app, stop  # noqa: E402

DISTINCT_INPUTS = 8  # few enough that every input is answered many times and can be compared


def request_for(number: int) -> tuple[str, dict]:
    """The number-th request of a client: alternately a grid and an interpolation."""
    key = number % DISTINCT_INPUTS
    if number % 2:
        return "/interpolate", {"seed_a": key, "seed_b": 7, "t": key / DISTINCT_INPUTS, "method": "slerp"}
    return "/generate", {"seed": key, "count": 16}


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Tally:
    """Outcomes of every request, and the first answer to each input to compare the rest with."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies, self.busy, self.failed, self.lost, self.mismatched = [], [], [], 0, 0
        self.reference: dict[str, bytes] = {}

    def answered(self, key: str, data: bytes, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if self.reference.setdefault(key, data) != data:
                self.mismatched += 1


def crowd(url: str, clients: int, seconds: float, request_timeout: float) -> Tally:

    tally = Tally()
    connections = [Client(url, verbose=False) for _ in range(clients)]
    deadline = time.monotonic() + seconds

    def user(index: int, client) -> None:
        number = index
        while time.monotonic() < deadline:
            api_name, arguments = request_for(number)
            number += clients
            start = time.perf_counter()
            try:
                result = client.submit(**arguments, api_name=api_name).result(timeout=request_timeout)
                with open(result, "rb") as handle:
                    tally.answered(
                        f"{api_name}{sorted(arguments.items())}", handle.read(), time.perf_counter() - start
                    )
            except QueueError as error:
                with tally.lock:
                    tally.busy.append(str(error))
            except FutureTimeout:
                with tally.lock:
                    tally.lost += 1
            except Exception as error:  # counted and reported, never hidden
                with tally.lock:
                    tally.failed.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=user, args=(i, c)) for i, c in enumerate(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--queue-size", type=int, default=64, help="the app's QUEUE_MAX_SIZE")
    parser.add_argument(
        "--request-timeout", type=float, default=120, help="seconds before a request counts as lost"
    )
    parser.add_argument("--json", help="where to write the results (default: benchmarks/results/...)")
    args = parser.parse_args(argv)

    app, url = start_app(env={"QUEUE_MAX_SIZE": str(args.queue_size)})
    try:
        Client(url, verbose=False).predict(
            seed=0, count=16, api_name="/generate"
        )  # warm: first call loads code
        rss_start = memory_kib(app.pid, "VmRSS")
        samples, sampling = [], threading.Event()

        def sample_memory() -> None:
            while not sampling.wait(0.5):
                samples.append(memory_kib(app.pid, "VmRSS"))

        sampler = threading.Thread(target=sample_memory)
        sampler.start()
        wall_start = time.perf_counter()
        tally = crowd(url, args.clients, args.seconds, args.request_timeout)
        wall = time.perf_counter() - wall_start
        sampling.set()
        sampler.join()
        still_serving = bool(Client(url, verbose=False).predict(seed=1, count=1, api_name="/generate"))
        rss_end, rss_peak = memory_kib(app.pid, "VmRSS"), memory_kib(app.pid, "VmHWM")
    finally:
        stop(app)

    ordered = sorted(tally.latencies)
    answered = len(ordered)
    sent = answered + len(tally.busy) + len(tally.failed) + tally.lost
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    result = {
        "machine": machine,
        "clients": args.clients,
        "seconds": args.seconds,
        "queue_size": args.queue_size,
        "sent": sent,
        "answered": answered,
        "busy": len(tally.busy),
        "failed": len(tally.failed),
        "lost": tally.lost,
        "mismatched": tally.mismatched,
        "still_serving": still_serving,
        "busy_messages": sorted(set(tally.busy)),
        "failures": tally.failed[:5],
        "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
        "p95_ms": 1000 * ordered[min(answered - 1, int(0.95 * answered))] if ordered else None,
        "max_ms": 1000 * ordered[-1] if ordered else None,
        "answers_per_second": answered / wall,
        "rss_mib": {
            "start": rss_start / 1024,
            "end": rss_end / 1024,
            "peak": rss_peak / 1024,
            "sampled_max": max(samples, default=rss_start) / 1024,
        },
    }
    print(f"{args.clients} clients for {args.seconds:.0f} s, queue {args.queue_size}, on {machine}")
    print(
        f"sent {sent}: answered {answered} ({result['mismatched']} differing from the first answer), "
        f"busy {result['busy']}, failed {result['failed']}, lost {result['lost']}; "
        f"still serving: {still_serving}"
    )
    if ordered:
        print(
            f"answered: p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
            f"max {result['max_ms']:.0f} ms, "
            f"{result['answers_per_second']:.1f}/s"
        )
    print("app memory (MiB): start {start:.0f}, end {end:.0f}, peak {peak:.0f}".format(**result["rss_mib"]))
    for message in result["busy_messages"]:
        print(f"busy message: {message}")
    name = f"app_load_cpu_{args.clients}x{args.seconds:.0f}s_queue{args.queue_size}.json"
    out = Path(args.json) if args.json else ROOT / "benchmarks" / "results" / name
    write_result(out.parent, out.name, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
