#!/usr/bin/env bash
# Everything this project measures on a lent GPU, in one call of the device tool (under 9 minutes):
#   run(command="bash benchmarks/gpu_session.sh", carry=["data"], timeout_s=570)  # data/MNIST/raw: real MNIST
# Phase 1, alone on the GPU (timings):
#   1. 300 epochs of the default recipe (improved: R1) on the CUDA-graph path, timed as a whole
#      process and as training alone (history.json's meta);
#   2. benchmarks/train_speed.py: the tutorial's loop vs every engine, eager and graphs, in one run;
#   3. benchmarks/stacked_runs.py --runs 1,8,32 (the stacked engine of --seeds).
# Phase 2, side by side (correctness and quality; nothing here is a timing):
#   4. the quality study: --seeds 0-4 of the default recipe, stacked, MNIST-FD, IS and digit shares
#      every 50 epochs (packed even when cut short by the deadline). On the H200 (2026-12-04) the
#      stacked engine ran eagerly at 1.5-2.3 s per epoch for 5 runs, so 300 epochs need about 8-11
#      minutes alone: more than one call. recipe_sweep.sh runs it on its own.
#   5. the run of 1. again, eagerly, for its per-epoch means against the graph path's;
#   6. tests/test_gpu.py: every engine's graph path against the eager one, both recipes.
# (The bundled runs were trained again on the CPU on 2026-12-06, each with its discriminator: no
# GPU run is needed for them. The quality study's runs come back with their discriminators, so its
# median seed can be bundled as it is.)
# Everything lands under $OUT (at most 8 files come back): gpu.txt, phase1.log, phase2.log,
# train_speed_cuda.json, stacked_runs_cuda.json, full_run.tgz and quality.tgz.
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}
DEADLINE=${DEADLINE:-520}  # seconds from the start by which phase 2 must end (the tool's limit is 600)
mkdir -p "$OUT" /tmp/gpu && rm -f /tmp/gpu/phase2-jobs.log
SECONDS=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$OUT/gpu.txt"

train() { python3 train.py --data-dir data --device cuda "$@"; }
left() { echo $(( DEADLINE - SECONDS > 5 ? DEADLINE - SECONDS : 5 )); }

{
  echo "== 1. 300 epochs, default recipe, graphs (t=${SECONDS}s)"
  start=$(date +%s.%N)
  timeout 100 python3 train.py --data-dir data --device cuda --out /tmp/gpu/full > /tmp/gpu/full.log 2>&1
  echo "exit $?; whole process, start to exit: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
  tail -n 4 /tmp/gpu/full.log
  python3 - <<'PY'
import json
history = json.load(open("/tmp/gpu/full/history.json"))
epochs, meta = history["epochs"], history["meta"]
print(f"epochs {len(epochs)}, training_seconds {meta.get('training_seconds')}, setup_seconds "
      f"{meta.get('setup_seconds')}, sum of epoch seconds {sum(row['seconds'] for row in epochs):.2f}, "
      f"path {meta.get('path')}, engine {meta.get('engine')}")
PY
  tar czf "$OUT/full_run.tgz" -C /tmp/gpu/full --exclude training_state.pt .

  echo "== 2. train_speed (t=${SECONDS}s)"
  timeout 110 python3 benchmarks/train_speed.py --data-dir data --device cuda --tutorial-epochs 2 \
    --eager-epochs 2 --graph-epochs 8 --results-dir "$OUT" 2>&1 | grep -v Warning

  echo "== 3. stacked runs (t=${SECONDS}s)"
  timeout 50 python3 benchmarks/stacked_runs.py --device cuda --runs 1,8,32 --results-dir "$OUT" 2>&1
  echo "phase 1 done at t=${SECONDS}s"
} 2>&1 | tee "$OUT/phase1.log"

# Phase 2: three GPU jobs in the background, the tests in front; each stops by the deadline.
quality() {  # $1: name, rest: train.py flags
  local name=$1; shift
  timeout "$(left)" python3 train.py --data-dir data --device cuda --seeds 0-4 --eval-every 50 \
    --sample-every 50 --out "/tmp/gpu/quality/$name" "$@" > "/tmp/gpu/quality/$name.log" 2>&1
  echo "quality $name: exit $? at t=${SECONDS}s" >> /tmp/gpu/phase2-jobs.log
}
mkdir -p /tmp/gpu/quality
quality improved --recipe improved &  # the default recipe alone: two studies side by side slowed both
( timeout "$(left)" python3 train.py --data-dir data --device cuda --no-cuda-graphs --out /tmp/gpu/eager \
    > /tmp/gpu/eager.log 2>&1; echo "eager 300: exit $? at t=${SECONDS}s" >> /tmp/gpu/phase2-jobs.log ) &

{
  echo "== 6. tests/test_gpu.py (t=${SECONDS}s)"
  timeout 200 python3 -m pytest -q -p no:cacheprovider -n 4 tests/test_gpu.py 2>&1 | tail -n 25
  echo "tests done at t=${SECONDS}s"
} 2>&1 | tee "$OUT/phase2.log"
wait

{
  cat /tmp/gpu/phase2-jobs.log
  echo "== 5. graphs vs eager, the default recipe, per epoch"
  python3 - <<'PY'
import json
graphs = json.load(open("/tmp/gpu/full/history.json"))["epochs"]
try:
    eager = json.load(open("/tmp/gpu/eager/history.json"))["epochs"]
except OSError as error:
    eager = []
    print("no eager history:", error)
names = ("d_loss", "g_loss", "d_x", "d_g_z")
gaps = [max(abs(g[k] - e[k]) for k in names) for g, e in zip(graphs, eager)]
if gaps:
    print(f"epochs compared {len(gaps)}; largest gap in a per-epoch mean {max(gaps):.4g}; "
          f"first 5 {[round(gap, 5) for gap in gaps[:5]]}; last {gaps[-1]:.4g}")
    print("eager epoch seconds (median):", sorted(row["seconds"] for row in eager)[len(eager) // 2])
PY
  echo "== 4. quality over seeds"
  for name in improved; do
    tail -n 12 "/tmp/gpu/quality/$name.log"
    python3 - "$name" <<'PY'
import json, pathlib, sys
root = pathlib.Path("/tmp/gpu/quality") / sys.argv[1]
for seed_dir in sorted(root.glob("seed-*")):
    try:
        history = json.loads((seed_dir / "history.json").read_text())
    except OSError:
        continue
    rows = [row for row in history["epochs"] if "quality" in row or "mnist_fd" in row]
    print(seed_dir.name, len(history["epochs"]), "epochs;", json.dumps(rows[-1] if rows else history["epochs"][-1:])[:400])
PY
  done
} 2>&1 | tee -a "$OUT/phase2.log"
# Weights, histories and logs only (16 MB a file comes back; the grids and Adam's moments are not needed).
(cd /tmp/gpu/quality && tar czf "$OUT/quality.tgz" ./*.log ./*/quality_over_seeds.json ./*/seed-*/history.json \
  ./*/seed-*/config.json ./*/seed-*/model.safetensors ./*/seed-*/discriminator.safetensors 2>/dev/null)
ls -la "$OUT"
echo "all done at t=${SECONDS}s"
