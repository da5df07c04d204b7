#!/usr/bin/env bash
# The session's run order (issue #16, 2026-12-04 evening), resumable like grid.sh:
#   1. seed 2 of the question's methods at k = 3 on both MSD bases (scanner domain);
#   2. the protocol shifts at k = 3, seed 1: FreeSurfer-protocol bases to MSD labels (msd), then
#      MSD bases to FreeSurfer labels (freesurfer; needs bench/fewshot/fs_synth_crops.py first), with
#      the FreeSurfer-protocol bases' zero-shot score on its held-out crops as the reference;
#   3. seed 3 at k = 3, then seed 1 at k = 1 (scanner domain).
# The report is regenerated after each slice.
set -uo pipefail
cd "$(dirname "$0")/../.."
report() { node --import tsx bench/fewshot.ts --report > /dev/null 2>&1 || true; }
grid() { bash bench/fewshot/grid.sh; report; }
SEEDS=2 KS=3 PHASES=question grid
SEEDS=1 KS=3 PHASES=question MODELS="unetr-fs swinunetr-fs" DOMAIN=msd grid
# The FreeSurfer-protocol bases on the forward domain's held-out crops, untrained: the reference.
node --import tsx bench/fewshot.ts --models swinunetr-fs,unetr-fs --methods none --domain freesurfer --threads 2; report
SEEDS=1 KS=3 PHASES=question DOMAIN=freesurfer grid
SEEDS=3 KS=3 PHASES=question grid
SEEDS=1 KS=1 PHASES=question grid
