#!/usr/bin/env bash
# Issue #16, "which tensors train": the paper methods without the decoder, training only some of
# their tensors (the others keep their initial values), on the validation split (10 val scans
# outside the test subset), simulated scanner shift, k = 3, seed 1, 80 steps, batch 2, each
# model's default rate (UNETR 3e-4, SwinUNETR adapters 1e-3), 2 wasm threads. The full method is
# re-run in the same section as the reference. Resumable: rerun to finish.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
common=(--k 3 --seeds 1 --steps 80 --threads 2 --holdout validation --val-cases 10 --out bench/fewshot/probes/which-tensor)
npm run bench -- fewshot --models unetr --lr 3e-4 "${common[@]}" \
  --methods lorapt:nodecoder,lorapt:nodecoder:only=W_sa,lorapt:nodecoder:only=W_up+W_down,lorapt:nodecoder:only=Sr
npm run bench -- fewshot --models swinunetr --lr 1e-3 "${common[@]}" \
  --methods hyps:nodecoder,hyps:nodecoder:only=attn,hyps:nodecoder:only=mlp,hyps:nodecoder:only=.A+.B,hyps:nodecoder:only=.Dn+.Up
