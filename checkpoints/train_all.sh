#!/usr/bin/env bash
# Reproduces the small checkpoints shipped in this folder: each teaching model trained on the synthetic
# street scenes by the app's own training loop, on a CPU, then saved in float16 (a few MB in all).
# Run from the repository root:  bash checkpoints/train_all.sh
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # one thread: steady speed even on a busy machine
for model in unet segnet fcn8s fpn hrnet; do
  "$PY" -m core.train --model "$model" --dataset synthetic --size 64 --batch-size 8 --lr 3e-3 \
    --seconds "${SECONDS_PER_MODEL:-150}" --val-every 100 --seed 0 --device cpu \
    --save-dtype float16 --out "checkpoints/$model-streets.safetensors" | tail -n 1
done
