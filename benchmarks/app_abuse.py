"""The app against abusive traffic, then 1,000 distinct requests: is memory and disk still bounded?

    python benchmarks/app_abuse.py                       # 60 s of abuse, then 1,000 distinct requests
    python benchmarks/app_abuse.py --seconds 20 --distinct 200

Launches `python app.py` with its own TMPDIR, records its resident memory, then for --seconds runs
four kinds of traffic at once: 4 MB JSON bodies (declared and streamed), upload attempts, floods of
malformed calls, and slow sockets that send a header a byte at a time. It waits 10 s, records the
memory again, checks the app still answers, then sends --distinct different /generate calls and
reports the disk its temporary folders hold. Prints a summary and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import write_result  # noqa: E402
from benchmarks.app_load import memory_kib  # noqa: E402
from tests.helpers import start_app, stop  # noqa: E402


def big_bodies(url: str, until: float, counts: dict) -> None:
    filler = b'{"data": [1, 2], "filler": "' + b"a" * 4_000_000 + b'"}'
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < until:
            streamed = (filler[i : i + 65536] for i in range(0, len(filler), 65536))
            for body in (filler, streamed):
                try:
                    status = client.post(f"{url}gradio_api/queue/join", content=body).status_code
                except httpx.HTTPError:
                    status = "dropped"
                counts[f"4 MB body: {status}"] = counts.get(f"4 MB body: {status}", 0) + 1


def uploads_and_malformed_calls(url: str, until: float, counts: dict) -> None:
    upload = {"files": ("x.bin", b"x" * 500_000)}
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < until:
            calls = (
                ("upload", lambda: client.post(f"{url}gradio_api/upload", files=upload)),
                (
                    "malformed",
                    lambda: client.post(f"{url}gradio_api/call/generate", json={"data": [1]}),
                ),
            )
            for name, call in calls:
                try:
                    status = call().status_code
                except httpx.HTTPError:
                    status = "dropped"
                counts[f"{name}: {status}"] = counts.get(f"{name}: {status}", 0) + 1


def slow_sockets(port: int, until: float, counts: dict) -> None:
    """Open sockets that send a request header one byte at a time and never finish it."""
    sockets = []
    try:
        while time.monotonic() < until:
            if len(sockets) < 50:
                try:
                    sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                    counts["slow sockets opened"] = counts.get("slow sockets opened", 0) + 1
                except OSError:
                    counts["slow sockets refused"] = counts.get("slow sockets refused", 0) + 1
            for sock in list(sockets):
                try:
                    sock.send(b"X")
                except OSError:
                    sockets.remove(sock)
            time.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--distinct", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait before measuring again")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    temp = Path(tempfile.mkdtemp(prefix="app-abuse-"))
    process, url = start_app({"TMPDIR": str(temp)})
    port = int(url.rsplit(":", 1)[1].strip("/"))
    try:
        httpx.post(f"{url}gradio_api/call/generate", json={"data": [1, 2]}, timeout=30)  # warm
        time.sleep(2)
        before = memory_kib(process.pid, "VmRSS")
        counts: dict = {}
        until = time.monotonic() + args.seconds
        workers = [
            threading.Thread(target=big_bodies, args=(url, until, counts)),
            threading.Thread(target=big_bodies, args=(url, until, counts)),
            threading.Thread(target=uploads_and_malformed_calls, args=(url, until, counts)),
            threading.Thread(target=slow_sockets, args=(port, until, counts)),
        ]
        for worker in workers:
            worker.start()
        peak_during = before
        while any(worker.is_alive() for worker in workers):
            peak_during = max(peak_during, memory_kib(process.pid, "VmRSS"))
            time.sleep(0.5)
        time.sleep(args.settle)
        after = memory_kib(process.pid, "VmRSS")
        still_serving = httpx.post(f"{url}gradio_api/call/generate", json={"data": [3, 4]}).status_code == 200

        disk_before = folder_bytes(temp)
        began = time.monotonic()
        with httpx.Client(timeout=60) as client:
            for seed in range(args.distinct):
                event = client.post(f"{url}gradio_api/call/generate", json={"data": [seed, 16]}).json()
                client.get(f"{url}gradio_api/call/generate/{event['event_id']}")
        distinct_seconds = time.monotonic() - began
        disk_after = folder_bytes(temp)
    finally:
        stop(process)
    disk_after_exit = folder_bytes(temp)

    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "abuse_seconds": args.seconds,
        "outcomes": dict(sorted(counts.items())),
        "rss_mib_before": round(before / 1024, 1),
        "rss_mib_peak_during": round(peak_during / 1024, 1),
        "rss_mib_after_settling": round(after / 1024, 1),
        "still_serving": still_serving,
        "distinct_requests": args.distinct,
        "distinct_seconds": round(distinct_seconds, 1),
        "disk_kib_before_distinct": round(disk_before / 1024, 1),
        "disk_kib_after_distinct": round(disk_after / 1024, 1),
        "disk_kib_after_exit": round(disk_after_exit / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    write_result(args.results_dir, "app_abuse.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
