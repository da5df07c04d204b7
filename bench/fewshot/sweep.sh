#!/usr/bin/env bash
# Issue #16, step 2: a small learning-rate sweep on the VALIDATION split (val scans outside the
# test subset), k = 3, seed 1, both MSD base models, 2 wasm threads. One section per (model, lr).
# Family "full/decoder" is represented by decoder-only, family "PEFT" by the paper method without
# the decoder (LoRA-PT for UNETR, HyPS for SwinUNETR). The loss curves (results.json, "losses")
# show how many steps the loss needs to flatten. Resumable: rerun to finish.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-80}
# The benchmark's node process runs in the background so its PID can go to .bench-pid (the lead
# may SIGSTOP/SIGCONT it during timing measurements); same as `npm run bench -- fewshot …`.
run() { node --import tsx bench/fewshot.ts "$@" & echo $! > .bench-pid; wait $!; }
common=(--k 3 --seeds 1 --steps "$STEPS" --threads 2 --holdout validation --val-cases 10 --out bench/fewshot/sweep)
for model in unetr swinunetr; do
  own=$([ "$model" = unetr ] && echo lorapt || echo hyps)
  for lr in 1e-4 3e-4 1e-3; do run --models "$model" --methods "$own:nodecoder" --lr "$lr" "${common[@]}"; done
  for lr in 3e-5 1e-4 3e-4; do run --models "$model" --methods decoder --lr "$lr" "${common[@]}"; done
done
