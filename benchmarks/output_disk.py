"""The disk the app's answers take: each endpoint's answer size, then many distinct 32-frame strips
(the largest common answer) against the OUTPUT_FILES_MB cap.

    python benchmarks/output_disk.py                      # 400 strips against a 32 MB cap
    python benchmarks/output_disk.py --strips 100 --cap-mb 8

Launches `python app.py` with its own GRADIO_TEMP_DIR (where the answers are kept), asks each
endpoint once through gradio_client and records the answer's size, then sends --strips distinct
/interpolation_strip calls of 32 frames and records the disk the temporary folder holds. Prints a
summary and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402

from benchmarks import write_result  # noqa: E402
from tests.helpers import start_app, stop  # noqa: E402

ANSWERS = {  # what one call of each endpoint hands out, with the largest choices
    "generate 64 digits": ((1, 64), "/generate"),
    "generate 64 digits, captioned": ((1, 64, "improved", True), "/generate"),
    "interpolate": ((1, 2, 0.3, "slerp"), "/interpolate"),
    "strip of 32 frames (PNG + GIF)": ((1, 2, 32, "slerp"), "/interpolation_strip"),
    "latent map 12x12, tinted": ((3, 4, 9, 15, 12, "improved", True), "/latent_grid"),
    "find digit, 64": ((7, 64, 1), "/find_digit"),
    "compare 64": ((1, 64), "/compare"),
    "training film": ((), "/training_film"),
}


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def files_of(answer) -> list[str]:
    values = answer if isinstance(answer, (list, tuple)) else [answer]
    return [value for value in values if isinstance(value, str) and os.path.isfile(value)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strips", type=int, default=400, help="distinct 32-frame strips to ask for")
    parser.add_argument("--cap-mb", type=int, default=32, help="OUTPUT_FILES_MB for the app")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        cache = Path(temp) / "gradio"
        env = {"GRADIO_TEMP_DIR": str(cache), "OUTPUT_FILES_MB": str(args.cap_mb)}
        process, url = start_app(env)
        try:
            client = Client(url, verbose=False, download_files=str(Path(temp) / "downloads"))
            sizes = {
                name: sum(os.path.getsize(path) for path in files_of(client.predict(*values, api_name=api)))
                for name, (values, api) in ANSWERS.items()
            }
            before, began = folder_bytes(cache), time.monotonic()
            for seed in range(args.strips):
                client.predict(seed, seed + 1, 32, "slerp", api_name="/interpolation_strip")
            seconds = time.monotonic() - began
            after = folder_bytes(cache)
        finally:
            stop(process)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "answer_bytes": sizes,
        "strips": args.strips,
        "strip_seconds": round(seconds, 1),
        "cap_mb": args.cap_mb,
        "disk_mb_before_strips": round(before / 2**20, 2),
        "disk_mb_after_strips": round(after / 2**20, 2),
        "uncapped_mb_of_strips": round(args.strips * sizes["strip of 32 frames (PNG + GIF)"] / 2**20, 1),
    }
    for name, size in sizes.items():
        print(f"{name:34s} {size / 1024:8.1f} KB")
    print(
        f"{args.strips} strips in {seconds:.0f} s: the temporary folder went from {before / 2**20:.1f} MB to "
        f"{after / 2**20:.1f} MB (cap {args.cap_mb} MB; {result['uncapped_mb_of_strips']} MB without it)"
    )
    write_result(args.results_dir, "output_disk.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
