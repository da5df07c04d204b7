#!/usr/bin/env bash
# The GPU check of issue 15: run once, the first time a session is lent a real GPU (the
# `device` tool), from the repository root; every step has its own time limit (450 s in all)
# and it prints one table for bench/RESULTS.md. The GPU targets of issue 3 (the engine) are
# judged from it.
#
#   here, once:    bash bench/gpu-check.sh --prepare  # loader .debs into .gl/, then checks what
#                                                     # the device run needs (see "Can it travel?")
#   here, any time: bash bench/gpu-check.sh --dry     # every step on this machine's SwiftShader
#                                                     # adapter at tiny sizes (finetune on wasm):
#                                                     # checks the plumbing, no figures to keep
#   on the GPU:    run(command="bash bench/gpu-check.sh", carry=[".gl", "node_modules"], timeout_s=540)
#
# Steps (a failed step is a row, not the end of the run):
#   1. the WebGPU adapter Dawn's Vulkan lane sees (must be a hardware GPU, not SwiftShader);
#   2. the engine benchmark: matmul and Conv3d GFLOP/s of the WGSL engine against
#      onnxruntime-web's WebGPU EP (its Chromium side: skipped where there is no Chromium), then a
#      training step of UNETR (paper configuration, 128³) and SwinUNETR-48 with peak memory
#      (bench/engine.ts: the paper rows on a hardware GPU);
#   3. a 20-step fine-tuning run of each shipped model (`seahorse finetune --engine webgpu`);
#   4. the full-head pipeline on onnxruntime-web's WebGPU execution provider
#      (`npm run bench -- pipeline --runtimes webgpu`: in Node on Dawn, no browser needed).
# Data: the MSD crops and the full-head sample under $SEAHORSE_SHARED (default ../shared, or
# ./shared on the device, where ../shared does not travel).
#
# Can it travel? (`--prepare` measures it; 2026-12-04 it could NOT): the device tool sends the
# tracked files, the untracked ones git does not ignore, ./shared and the carried paths, 64 MiB
# in all, and its image is a CUDA/Python one (KINDS.md lists no Node.js). This run needs Node 20,
# node_modules (tsx, webgpu's dawn.node, onnxruntime-web, vite, playwright-core) and ~18 MiB of
# data beside the repository, whose tracked files (the shipped ONNX models) are already ~75 MiB.
set -uo pipefail
cd "$(dirname "$0")/.."

MIB=1048576
LIMIT=$((64 * MIB))

if [ "${1:-}" = "--prepare" ]; then
  # The device tool's README: the loaders are unpacked on the device from .debs carried in .gl/.
  # (.gitignore ignores /.gl/ already, as the README's exclude line would.)
  git check-ignore -q .gl || echo '/.gl/' >> "$(git rev-parse --git-path info/exclude)"
  if ! ls .gl/*.deb > /dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update > /dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  ls .gl
  bytes() { du -sbL "$@" 2> /dev/null | awk '{s += $1} END {print s + 0}'; }
  tracked=$(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {print s + 0}')
  untracked=$(git ls-files -z -o --exclude-standard | xargs -0 -r stat -c %s | awk '{s += $1} END {print s + 0}')
  gl=$(bytes .gl)
  modules=$(bytes node_modules)
  data=$(bytes "${SEAHORSE_SHARED:-../shared}/data/msd_hippocampus" "${SEAHORSE_SHARED:-../shared}/data/samples/brainchop_t1_crop.nii.gz")
  total=$((tracked + untracked + gl + modules + data))
  echo
  echo "What the device run would send (the device tool's limit: 64 MiB in all):"
  printf '  %-62s %8.1f MiB\n' "tracked files (git ls-files)" "$(echo "$tracked / $MIB" | bc -l)" \
    "untracked, not ignored" "$(echo "$untracked / $MIB" | bc -l)" \
    ".gl (Vulkan/EGL loader .debs)" "$(echo "$gl / $MIB" | bc -l)" \
    "node_modules (carried)" "$(echo "$modules / $MIB" | bc -l)" \
    "data as ./shared (MSD crops, full-head sample)" "$(echo "$data / $MIB" | bc -l)" \
    "total" "$(echo "$total / $MIB" | bc -l)"
  echo "  Node.js on the device: not in its image (KINDS.md); $(command -v node) here is $(du -bL "$(command -v node)" | awk '{printf "%.0f", $1 / 1048576}') MiB."
  if [ "$tracked" -ge "$LIMIT" ]; then
    echo "BLOCKED: the tracked files alone are over 64 MiB: no device run can start from this repository until they shrink (e.g. the shipped ONNX models kept outside git)." >&2
    exit 2
  elif [ "$total" -ge "$LIMIT" ]; then
    echo "BLOCKED: over 64 MiB with node_modules and data: carry a pruned, compressed runtime instead." >&2
    exit 2
  fi
  exit 0
fi

DRY=0
if [ "${1:-}" = "--dry" ]; then
  DRY=1
  # This machine's software Vulkan adapter (see src/engine/device-node.ts).
  export LD_LIBRARY_PATH=/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi

OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
if ! command -v node > /dev/null; then
  echo "node: not found. The device image has no Node.js; this check needs Node 20 (see 'Can it travel?' in this script's header)." >&2
  exit 3
fi
if [ $DRY = 0 ] && ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ $DRY = 0 ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
export SEAHORSE_WEBGPU_BACKEND=vulkan
if [ -z "${SEAHORSE_SHARED:-}" ] && [ ! -d ../shared ] && [ -d shared ]; then export SEAHORSE_SHARED=$PWD/shared; fi
MSD=${SEAHORSE_SHARED:-../shared}/data/msd_hippocampus

ROWS=()
# step <name> <seconds> <command…>: runs it with a time limit, logs to $OUT/<name>.log, keeps a row.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local status=ok
  [ $rc -eq 124 ] && status="timed out (${limit} s)"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && status="failed (exit $rc)"
  ROWS+=("| $name | $status | $((SECONDS - t0)) | $OUT/$name.log |")
  echo "== $name: $status in $((SECONDS - t0)) s" >&2
}

# Full sizes on the GPU; in --dry, the smallest that still runs every code path.
if [ $DRY = 1 ]; then
  ENGINE_ARGS=(--reps 1 --sizes 64 --scale 16 --no-models --no-browser)
  FT_MODELS=(unetr-tiny-test swinunetr-tiny-test)
  # One step on the wasm engine: the WGSL engine's ~100 pipelines take minutes to compile on
  # SwiftShader here (a 1-step WebGPU run of the tiny UNETR passed 300 s), so --dry checks the
  # finetune command and its table, not the WebGPU training path.
  FT_ARGS=(--steps 1 --batch 1 --limit 1 --engine wasm)
  # The tiny model: onnxruntime-web's WebGPU session takes ~4 min to build on SwiftShader here.
  PIPE_ARGS=(--reps 1 --model unetr-tiny-test)
  T_ENGINE=300 T_FT=300 T_PIPE=900
else
  FT_MODELS=(unetr swinunetr)
  ENGINE_ARGS=(--reps 3)
  # Chromium carries the ORT-web side of the engine benchmark; without it the Node rows still run.
  command -v "${SEAHORSE_CHROMIUM:-/usr/bin/chromium}" > /dev/null || ENGINE_ARGS+=(--no-browser)
  FT_ARGS=(--steps 20 --batch 2 --engine webgpu)
  PIPE_ARGS=(--reps 3)
  T_ENGINE=180 T_FT=75 T_PIPE=90
fi

step adapter 30 node --import tsx --input-type=module -e "
  const { requestNodeDevice } = await import('./src/engine/device-node.ts');
  const { isSoftwareAdapter } = await import('./src/engine/device.ts');
  const d = await requestNodeDevice();
  console.log('adapter:', d.description, isSoftwareAdapter(d) ? '(SOFTWARE: not a GPU)' : '(hardware)');
  process.exit(isSoftwareAdapter(d) && !$DRY ? 3 : 0);"
step engine-bench "$T_ENGINE" npm run bench -- engine "${ENGINE_ARGS[@]}"
for m in "${FT_MODELS[@]}"; do
  step "finetune-$m" "$T_FT" node bin/seahorse.mjs finetune --model "$m" --method full --data "$MSD" --split "$MSD/split.json" --set fewshot_pool "${FT_ARGS[@]}" -o "$OUT/$m.seahorse-adapter"
done
step pipeline-webgpu "$T_PIPE" npm run bench -- pipeline --runtimes webgpu --peer none "${PIPE_ARGS[@]}"

echo
[ $DRY = 1 ] && echo "DRY RUN on this machine's software adapter: plumbing only, not GPU figures."
echo "GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)"
grep -h 'adapter:' "$OUT/adapter.log"
echo
echo '| step | status | seconds | log |'
echo '|---|---|---|---|'
printf '%s\n' "${ROWS[@]}"
echo
echo '### engine benchmark'
grep -E '^\||device' "$OUT/engine-bench.log" || tail -5 "$OUT/engine-bench.log"
for m in "${FT_MODELS[@]}"; do
  echo
  echo "### finetune $m (${FT_ARGS[*]})"
  grep -E 'step (1|10|20)/|Engine|engine|peak|Steps' "$OUT/finetune-$m.log" | head -8
done
echo
echo '### full-head pipeline, onnxruntime-web WebGPU EP'
grep -E 'WebGPU|model:|total|segment|localise|Error' "$OUT/pipeline-webgpu.log" | head -16
