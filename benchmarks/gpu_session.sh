#!/usr/bin/env bash
# Everything this project measures on a lent GPU, in one call of the device tool (about 6 minutes):
#   run(command="bash benchmarks/gpu_session.sh", carry=["data"])   # data/MNIST/raw holds real MNIST
# 1. a 3-epoch smoke run of the CUDA-graph path, and --lr-decay and --recipe improved on both paths;
# 2. the full run of --recipe improved (300 epochs), which can become weights/; 3. benchmarks/train_speed.py
# (the tutorial's loop vs eager vs graphs vs graphs + torch.compile, and their agreement); 4. the full run again
# with --compile, for its total including compile time; 5. the stacked engine: 1, 8 and 32 runs at once.
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, torchvision, huggingface_hub; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'hub', huggingface_hub.__version__)" | tee -a "$OUT/gpu.txt"

timeout 90 python3 train.py --data-dir data --device cuda --epochs 3 --subset 6000 --out /tmp/smoke 2>&1 | tail -n 5 | tee "$OUT/smoke.log"

# The suite's GPU tests (tests/test_gpu.py: graphs and --compile against eager, both recipes), where
# pytest is there to run them.
if python3 -c "import pytest" 2>/dev/null; then
  timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py 2>&1 | tail -n 15 | tee "$OUT/test_gpu.log"
fi

# --lr-decay and --recipe improved (R1) on the graph path: a decaying rate is a device tensor each
# replay reads, and R1 differentiates twice inside the captured graph; either way the graph and the
# eager histories must agree per epoch as they do for the seed recipe (the rate falls from epoch 4).
check_paths() {  # $1: name, rest: train.py flags
  local name=$1; shift
  for path in graphs eager; do
    extra=""; [ "$path" = eager ] && extra="--no-cuda-graphs"
    timeout 90 python3 train.py --data-dir data --device cuda --epochs 6 --subset 6000 "$@" \
      --out "/tmp/$name-$path" $extra > "/tmp/$name-$path.log" 2>&1 || tail -n 3 "/tmp/$name-$path.log"
  done
  NAME=$name python3 - <<'PY' 2>&1 | tee "$OUT/${name}_paths.log"
import json, os
name = os.environ["NAME"]
rows = {path: json.load(open(f"/tmp/{name}-{path}/history.json"))["epochs"] for path in ("graphs", "eager")}
for graph, eager in zip(rows["graphs"], rows["eager"]):
    print(name, graph["epoch"], graph.get("lr", ""), max(abs(graph[k] - eager[k]) for k in ("d_loss", "g_loss", "d_x", "d_g_z")))
PY
}
check_paths lr-decay --lr-decay linear
check_paths improved --recipe improved

full_run() {  # $1: output folder, $2: log name, rest: extra flags
  local out=$1 log=$2; shift 2
  local start end
  start=$(date +%s.%N)
  timeout 240 python3 train.py --data-dir data --device cuda --out "$out" "$@" > "$OUT/$log" 2>&1
  end=$(date +%s.%N)
  echo "whole process, start to exit: $(python3 -c "print(round($end - $start, 1))") s" >> "$OUT/$log"
  tail -n 3 "$OUT/$log"
}
full_run /tmp/full train_full.log --recipe improved
tar czf "$OUT/full_run.tgz" -C /tmp/full --exclude training_state.pt --exclude discriminator.safetensors .

timeout 240 python3 benchmarks/train_speed.py --data-dir data --device cuda --tutorial-epochs 2 --eager-epochs 4 \
  --graph-epochs 20 --compile --results-dir "$OUT" 2>&1 | grep -v Warning | tee "$OUT/train_speed.log"

full_run /tmp/full-compiled train_full_compiled.log --recipe improved --compile

# Many runs at once (the stacked engine of --seeds): 1, 8 and 32 runs per step against one run.
timeout 120 python3 benchmarks/stacked_runs.py --device cuda --runs 1,8,32 --results-dir "$OUT" 2>&1 | tee "$OUT/stacked_runs.log"
