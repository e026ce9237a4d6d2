"""Scripts that measure speed, memory and load; their figures go to benchmarks/results/."""

from __future__ import annotations

import json
import time
from pathlib import Path


def write_result(folder: str | Path, name: str, result: dict) -> Path:
    """A benchmark's figures as `folder/name` (indented JSON), said on stdout; returns the path."""
    out = Path(folder) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return out


def timed(call, repeats: int) -> list[float]:
    """The seconds each of `repeats` calls of call() took, in order."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times
