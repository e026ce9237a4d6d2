#!/usr/bin/env bash
# Everything this project measures on a lent GPU, in one call of the device tool (about 5 minutes):
#   run(command="bash benchmarks/gpu_session.sh", carry=["data"])   # data/MNIST/raw holds real MNIST
# 1. a 3-epoch smoke run of the CUDA-graph path; 2. the full seed run (300 epochs) that becomes
# weights/; 3. benchmarks/train_speed.py (seed loop vs eager vs graphs, and eager-vs-graph agreement).
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, torchvision, huggingface_hub, safetensors, matplotlib, tqdm; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'hub', huggingface_hub.__version__)" | tee -a "$OUT/gpu.txt"

timeout 90 python3 train.py --data-dir data --device cuda --epochs 3 --subset 6000 --out /tmp/smoke 2>&1 | tail -n 5 | tee "$OUT/smoke.log"

start=$(date +%s.%N)
timeout 330 python3 train.py --data-dir data --device cuda --out /tmp/full 2>&1 | tee "$OUT/train_full.log" | tail -n 3
end=$(date +%s.%N)
echo "full run wall seconds (process start to exit): $(python3 -c "print(round($end - $start, 1))")" | tee -a "$OUT/train_full.log"
tar czf "$OUT/full_run.tgz" -C /tmp/full --exclude training_state.pt --exclude discriminator.safetensors . 

timeout 200 python3 benchmarks/train_speed.py --data-dir data --device cuda --seed-epochs 2 --eager-epochs 4 \
  --graph-epochs 20 --results-dir "$OUT" 2>&1 | tee "$OUT/train_speed.log"
