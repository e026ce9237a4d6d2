"""App latency under concurrent gradio_client load, against the framework's own floor.

    python benchmarks/app_latency.py                      # 8 clients x 50 requests per endpoint
    python benchmarks/app_latency.py --clients 4 --requests 10

Launches `python app.py` and a minimal Gradio app with one no-op endpoint (same queue settings),
sends the same load to /generate (16 images), /interpolate and the no-op, and prints p50, p95, max
and requests per second for each, with the ratio of each p95 to the no-op's. Writes JSON to
benchmarks/results/app_latency_cpu_<clients>x<requests>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import gradio as gr
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port, start_app, stop, wait_for_port  # noqa: E402


def serve_noop(port: int) -> None:
    """The floor: a Gradio app whose one endpoint does nothing, queued like app.py."""
    with gr.Blocks() as floor:
        number = gr.Number()
        text = gr.Textbox()
        gr.Button().click(lambda value: "ok", number, text, api_name="noop")
    floor.queue(max_size=64, default_concurrency_limit=2)
    floor.launch(server_name="127.0.0.1", server_port=port)


def load(url: str, api_name: str, make_args, clients: int, requests: int) -> dict:
    """`clients` threads, each with its own Client, each sending `requests` calls back to back."""

    connections = [Client(url, verbose=False) for _ in range(clients)]
    latencies, failures, lock = [], [], threading.Lock()

    def worker(index: int, client) -> None:
        for request in range(requests):
            start = time.perf_counter()
            try:
                client.predict(**make_args(index * requests + request), api_name=api_name)
                with lock:
                    latencies.append(time.perf_counter() - start)
            except Exception as error:  # counted and reported, never hidden
                with lock:
                    failures.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(connections)]
    wall_start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall_start
    ordered = sorted(latencies)
    percentile = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
    return {
        "endpoint": api_name,
        "requests": clients * requests,
        "failed": len(failures),
        "failures": failures[:5],
        "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
        "p95_ms": 1000 * percentile(0.95),
        "max_ms": 1000 * ordered[-1] if ordered else None,
        "requests_per_second": len(ordered) / wall,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="per client and endpoint")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--serve-noop", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_noop:
        serve_noop(args.serve_noop)
        return 0

    app, app_url = start_app()
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, __file__, "--serve-noop", str(floor_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(floor_port, floor)
        floor_url = f"http://127.0.0.1:{floor_port}/"
        rows = [
            load(floor_url, "/noop", lambda i: {"value": i}, args.clients, args.requests),
            load(app_url, "/generate", lambda i: {"seed": i, "count": 16}, args.clients, args.requests),
            load(
                app_url,
                "/interpolate",
                lambda i: {"seed_a": 1, "seed_b": 2, "t": (i % 101) / 100, "method": "slerp"},
                args.clients,
                args.requests,
            ),
        ]
    finally:
        stop(app)
        stop(floor)
    floor_p95 = rows[0]["p95_ms"]
    for row in rows:
        row["p95_vs_floor"] = row["p95_ms"] / floor_p95
    machine = f"{platform.machine()}, {__import__('os').cpu_count()} CPUs"
    print(f"{args.clients} concurrent clients x {args.requests} requests each, on {machine}")
    print(
        f"{'endpoint':<14} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7} "
        f"{'p95/floor':>9} {'failed':>6}"
    )
    for row in rows:
        print(
            f"{row['endpoint']:<14} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['max_ms']:>8.1f} "
            f"{row['requests_per_second']:>7.1f} {row['p95_vs_floor']:>9.2f} {row['failed']:>6}"
        )
    out = Path(args.results_dir) / f"app_latency_cpu_{args.clients}x{args.requests}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"machine": machine, "clients": args.clients, "requests": args.requests, "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
