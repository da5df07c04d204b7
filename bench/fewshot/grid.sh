#!/usr/bin/env bash
# Issue #16, step 3: the grid slice that answers the papers' question first, on the held-out TEST
# scans (20 of val, seed 8), with the steps and learning rates of the validation sweep (sweep.sh,
# INVESTIGATION.md). Order: seed 1 before seeds 2 and 3; k = 3, then 1, then 5; for each, first the
# methods of the question (decoder-only, LoRA, the paper method without and with the decoder) for
# both base models, then the rest (PiSSA, LoRA and PiSSA without the decoder, full).
# Resumable: rerun the same script to skip the finished runs. 2 wasm threads.
# Knobs (env): SEEDS, KS, PHASES ("question rest"; PHASES=question runs only the question's
# methods), MODELS ("unetr swinunetr"), DOMAIN (scanner, the default; msd or freesurfer: the
# protocol shifts of bench/fewshot.ts --domain), STEPS, LR_unetr, LR_swinunetr (a FreeSurfer-protocol
# base, unetr-fs or swinunetr-fs, takes the rates swept for its architecture). E.g.
#   SEEDS="2 3" KS=3 PHASES=question bash bench/fewshot/grid.sh
#   SEEDS=1 KS=3 PHASES=question MODELS="unetr-fs swinunetr-fs" DOMAIN=msd bash bench/fewshot/grid.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-80}
# Per model, from the sweep: the full/decoder family and the PEFT family at their own rates.
# (INVESTIGATION.md, 2026-12-04: UNETR 3e-4 for both families; SwinUNETR decoder/full 1e-4, PEFT 1e-3.)
LR_unetr=${LR_unetr:-3e-4}
LR_swinunetr=${LR_swinunetr:-full=1e-4,decoder=1e-4,*=1e-3}
DOMAIN=${DOMAIN:-scanner}
# The default domain adds no option, so its sections keep the commands (and keys) they were written with.
domain_opt=()
[ "$DOMAIN" = scanner ] || domain_opt=(--domain "$DOMAIN")
run() { node --import tsx bench/fewshot.ts "$@" & echo $! > .bench-pid; wait $!; }
for seed in ${SEEDS:-1 2 3}; do
  for k in ${KS:-3 1 5}; do
    for phase in ${PHASES:-question rest}; do
      for model in ${MODELS:-unetr swinunetr}; do
        arch=${model%%-*}
        own=$([ "$arch" = unetr ] && echo lorapt || echo hyps)
        lr_var="LR_$arch"
        if [ "$phase" = question ]; then methods="decoder,lora,$own:nodecoder,$own"; else methods="pissa,lora:nodecoder,pissa:nodecoder,full"; fi
        run --models "$model" --methods "$methods" --k "$k" --seeds "$seed" --steps "$STEPS" --lr "${!lr_var}" --threads 2 "${domain_opt[@]}"
      done
    done
  done
done
