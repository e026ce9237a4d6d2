#!/usr/bin/env bash
# The quality study of issue 17: each recipe over 5 seeds (--seeds 0-4), with MNIST-FD, IS and the
# digit shares every 50 epochs, so that a recipe is judged by a mean and its 95% interval, not by
# one lucky run. One call of the device tool (real MNIST in ./data):
#   run(command="bash benchmarks/recipe_sweep.sh", carry=["data"])
#   run(command="FROM=4 bash benchmarks/recipe_sweep.sh", carry=["data"])   # the next session: recipe 4 on
# The recipes go most telling first, and the results are packed after each one, so a run cut short
# by its time limit still counts. Recipes without an EMA train their 5 seeds together (the stacked
# engine of --seeds); those with one train one seed after the other on the CUDA-graph path.
# Back under $OUT: sweep_runs.txt, sweep_summary.txt (mean ± 95% interval per recipe), and
# sweep_results.tgz (each recipe's quality_over_seeds.json and every seed's history.json).
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/sweep-out}
FROM=${FROM:-1}
mkdir -p "$OUT" /tmp/sweep
nvidia-smi --query-gpu=name --format=csv,noheader | tee "$OUT/sweep_runs.txt"

number=0
recipe() {  # $1: name, rest: train.py flags
  local name=$1; shift
  number=$((number + 1))
  [ "$number" -lt "$FROM" ] && return
  local start=$(date +%s)
  timeout "${RECIPE_SECONDS:-600}" python3 train.py --data-dir data --device cuda --seeds 0-4 --eval-every 50 \
    --sample-every 50 --out "/tmp/sweep/$name" "$@" > "/tmp/sweep/$name.log" 2>&1
  echo "$number $name: exit $? in $(( $(date +%s) - start )) s ($*)" >> "$OUT/sweep_runs.txt"
  summarize
}

summarize() {
python3 - <<'PY' > "$OUT/sweep_summary.txt" 2>&1
import json, pathlib
print(f"{'recipe':<28} {'runs':>4} {'MNIST-FD':>15} {'IS':>13} {'least / most common digit (%)':>30}")
for path in sorted(pathlib.Path("/tmp/sweep").glob("*/quality_over_seeds.json")):
    record = json.loads(path.read_text())
    figures = record["figures"]
    show = lambda name: f"{figures[name]['mean']:.2f} ± {figures[name]['half_width_95'] or float('nan'):.2f}"
    shares = [figures[f"share of {digit}s (%)"]["mean"] for digit in range(10)]
    print(f"{path.parent.name:<28} {record['runs_evaluated']:>4} {show('MNIST-FD'):>15} "
          f"{show('Inception Score'):>13} {min(shares):>14.1f} / {max(shares):.1f}")
PY
(cd /tmp/sweep && tar czf "$OUT/sweep_results.tgz" ./*/quality_over_seeds.json ./*/seed-*/history.json ./*.log \
  ./improved/seed-*/model.safetensors ./improved/seed-*/config.json \
  2>/dev/null)
}

recipe improved --recipe improved                           # R1, gamma 10: today's default
recipe tutorial --recipe tutorial                           # the tutorial's recipe, for the baseline
recipe r1-gamma3 --recipe improved --r1-gamma 3
recipe r1-gamma30 --recipe improved --r1-gamma 30
recipe improved-ema999 --recipe improved --ema-decay 0.999
recipe improved-ema9999 --recipe improved --ema-decay 0.9999
recipe improved-600-epochs --recipe improved --epochs 600
cat "$OUT/sweep_runs.txt" "$OUT/sweep_summary.txt"
