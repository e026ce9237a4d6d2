"""The mutation score of the code whose bugs are silent, with mutmut (configured in pyproject.toml).

    python tools/mutation_score.py            # run mutmut over the whole scope (about 3 hours on 2 cores)
    python tools/mutation_score.py --report   # report the results of the last run only
    python tools/mutation_score.py --sample 400 --seed 0   # a random sample of the scope, then report

mutmut changes one thing at a time in the training step, the epochs, the run files and resume,
latent, sampling and the push allow list, and runs the tests that exercise each change; a change
that no test notices "survives". The score is killed / (killed + survived + untested) over that
scope, less the code that only runs on CUDA (tests/test_gpu.py covers it where a GPU is lent) and
the mutants explained below as equivalent: changes that cannot alter any behaviour.
Not in CI: it takes too long. A sample of the scope's mutants, drawn at random with a seed, gives
the score within a few points in a fraction of the time (the report says how many were tried).
Writes benchmarks/results/mutation_score.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Functions mutmut mutates that CPU tests cannot run, with where they are tested instead.
CUDA_ONLY = {
    "gan_core.training.epochs.xǁGraphEpochǁ": "the CUDA-graph runner: tests/test_gpu.py checks it",
    "gan_core.training.epochs.x__snapshot": "the graph warm-up's copy of the state (CUDA only)",
    "gan_core.training.epochs.x__restore": "the graph warm-up's restore (CUDA only)",
    "gan_core.training.state.x_configure_cuda_math": "TF32 settings, CUDA only",
    "gan_core.training.state.x_place_learning_rates": "moves decaying-rate tensors to the GPU for graphs",
}
# Parts of the scoped files that are not in the scope: the push itself (its HTTP faults are
# tested through train.py against tests/hub_server.py, in subprocesses mutmut cannot attribute).
OUT_OF_SCOPE = (
    "gan_core.hub.push.x_push_run",
    "gan_core.hub.client.x__landed_anyway",
    "gan_core.hub.push.x_check_push_access",
    "gan_core.hub.client.x_explain_hub_error",
    "gan_core.hub.client.x__transport_errors",
    "gan_core.hub.push.x__to_stderr",
)

# On the CPU some mutants cannot change anything: they alter only where a tensor is placed (the
# default is the CPU, so `device=None` or a dropped `.to(device)` places it there all the same), or
# a string or a test that only a CUDA or MPS device reads. Each is recognised from its diff, counted
# apart as "CPU-equivalent" and listed; tests/test_gpu.py exercises those lines where a GPU is lent.
DEVICE_ARGUMENT = re.compile(r",?\s*device=[\w.]+(\([^()]*\))?|\.to\((device|None)\)")
GPU_ONLY_CHANGE = re.compile(
    r'"(XXcudaXX|CUDA|XXmpsXX|MPS|XXcapturableXX|CAPTURABLE)"|== "cuda"\) and False|get_rng_state\(None\)'
    r"|torch\.device\(None\)"
)


def diff_lines(mutant: str) -> tuple[str, str]:
    """The changed line before and after, from `mutmut show`."""
    shown = subprocess.run(["mutmut", "show", mutant], cwd=ROOT, capture_output=True, text=True).stdout
    removed = [line[1:] for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " ".join(removed), " ".join(added)


def placement_removed(line: str) -> str:
    """The line without device arguments and .to(device) calls, and with `f(a, )` read as `f(a)`."""
    return re.sub(r",\s*\)", ")", DEVICE_ARGUMENT.sub("", line)).replace(" ", "")


def cpu_equivalent(mutant: str) -> bool:
    before, after = diff_lines(mutant)
    placement_only = placement_removed(before) == placement_removed(after)
    return bool(after) and (placement_only or bool(GPU_ONLY_CHANGE.search(after)))


LINE = re.compile(r"^\s*(?P<name>[\w.ǁ]+)__mutmut_(?P<number>\d+): (?P<status>.+)$")


def results() -> list[tuple[str, str, str]]:
    """(function, mutant, status) for every mutant of the last run."""
    output = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    rows = []
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            rows.append(
                (match["name"], f"{match['name']}__mutmut_{match['number']}", match["status"].strip())
            )
    return rows


def in_scope(function: str) -> bool:
    return not function.startswith((*CUDA_ONLY, *OUT_OF_SCOPE))


def sampled(size: int, seed: int) -> list[str]:
    """`size` mutants of the scope, drawn at random with `seed` from those mutmut generated."""
    subprocess.run(["mutmut", "run", "no-mutant-has-this-name"], cwd=ROOT, capture_output=True, check=False)
    names = sorted(mutant for function, mutant, _ in results() if in_scope(function))
    return random.Random(seed).sample(names, min(size, len(names)))


def report() -> dict:
    rows = results()
    skipped = Counter()
    counted: dict[str, Counter] = defaultdict(Counter)
    survivors, equivalent = [], []
    for function, mutant, status in rows:
        if not in_scope(function):
            skipped[status] += 1
            continue
        if status in ("survived", "no tests") and cpu_equivalent(mutant):
            equivalent.append(mutant)
            continue
        counted[function.split(".x")[0]][status] += 1
        if status in ("survived", "no tests"):
            survivors.append(mutant)
    totals = sum(counted.values(), Counter())
    tried = totals["killed"] + totals["survived"] + totals["no tests"] + totals["timeout"]
    score = (totals["killed"] + totals["timeout"]) / tried if tried else 0.0
    summary = {
        "score": round(100 * score, 1),
        "mutants_in_scope": sum(1 for function, _, _ in rows if in_scope(function)),
        "tried": tried + len(equivalent),
        "killed": totals["killed"] + totals["timeout"],
        "survived": totals["survived"],
        "untested": totals["no tests"],
        "by_module": {module: dict(counts) for module, counts in sorted(counted.items())},
        "not_scored": dict(skipped),
        "cpu_equivalent": equivalent,
        "survivors": survivors,
    }
    print(f"mutation score: {summary['score']}% ({summary['killed']} killed of {tried})")
    print(f"tried: {summary['tried']} of the scope's {summary['mutants_in_scope']} mutants")
    for module, counts in summary["by_module"].items():
        print(f"  {module:24} " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
    print(f"not scored (CUDA-only or out of scope): {sum(skipped.values())}")
    print(f"CPU-equivalent survivors, not scored (device placement or GPU-only strings): {len(equivalent)}")
    print(f"survivors and untested: {len(survivors)} (mutmut show NAME shows one)")
    for mutant in survivors:
        print(f"  {mutant}")
    out = ROOT / "benchmarks" / "results" / "mutation_score.json"
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only report the last run's results")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument("--sample", type=int, help="try only this many mutants, drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed, for --sample")
    args = parser.parse_args()
    if not args.report:
        chosen = sampled(args.sample, args.seed) if args.sample else []
        run = ["mutmut", "run", "--max-children", str(args.max_children), *chosen]
        subprocess.run(run, cwd=ROOT, check=False)
    report()


if __name__ == "__main__":
    sys.exit(main())
