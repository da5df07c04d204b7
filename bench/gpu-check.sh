#!/usr/bin/env bash
# The GPU check of issue 15: run once, the first time a session is lent a real GPU (the
# `device` tool), from the repository root; it finishes in under 8 minutes and prints one
# table for bench/RESULTS.md. The GPU targets of issue 3 (the engine) are judged from it.
#
#   here, once:   bash bench/gpu-check.sh --prepare     # downloads the Vulkan/EGL loader .debs into .gl/
#   on the GPU:   run(command="bash bench/gpu-check.sh", carry=[".gl", "node_modules"], timeout_s=540)
#
# Steps (each under its own time limit; a failed step is a row, not the end of the run):
#   1. the WebGPU adapter Dawn's Vulkan lane sees (must be a hardware GPU, not SwiftShader);
#   2. the engine benchmark: matmul and Conv3d GFLOP/s of the WGSL engine against
#      onnxruntime-web's WebGPU EP, then a training step of UNETR (paper configuration, 128³)
#      and SwinUNETR-48 with peak memory (bench/engine.ts: the paper rows on a hardware GPU);
#   3. a 20-step fine-tuning run of each shipped model (`seahorse finetune --engine webgpu`);
#   4. the full-head pipeline on the WebGPU execution provider — NOT wired yet: the pipeline
#      benchmark (bench/pipeline.ts) runs onnxruntime-node and onnxruntime-web's wasm EP only.
# Data: the MSD crops under $SEAHORSE_SHARED (default ../shared, or ./shared on the device).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  # The device tool's README: the loaders are unpacked on the device from .debs carried in .gl/.
  grep -qx '/.gl/' .gitignore || echo '/.gl/' >> .git/info/exclude
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  ls .gl
  exit
fi

OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
if ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
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

step adapter 60 node --import tsx --input-type=module -e "
  const { requestNodeDevice } = await import('./src/engine/device-node.ts');
  const { isSoftwareAdapter } = await import('./src/engine/device.ts');
  const d = await requestNodeDevice();
  console.log('adapter:', d.description, isSoftwareAdapter(d) ? '(SOFTWARE: not a GPU)' : '(hardware)');
  process.exit(isSoftwareAdapter(d) ? 3 : 0);"
step engine-bench 210 npm run bench -- engine --reps 3
for m in unetr swinunetr; do
  step "finetune-$m" 90 node bin/seahorse.mjs finetune --model "$m" --method full --data "$MSD" --split "$MSD/split.json" --set fewshot_pool --steps 20 --batch 2 --engine webgpu -o "$OUT/$m.seahorse-adapter"
done
ROWS+=("| full-head pipeline on the WebGPU EP | not wired | – | bench/pipeline.ts has no WebGPU runtime yet |")

echo
echo "GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
grep -h 'adapter:' "$OUT/adapter.log"
echo
echo '| step | status | seconds | log |'
echo '|---|---|---|---|'
printf '%s\n' "${ROWS[@]}"
echo
echo '### engine benchmark'
grep -E '^\|' "$OUT/engine-bench.log" || tail -5 "$OUT/engine-bench.log"
for m in unetr swinunetr; do
  echo
  echo "### finetune $m (20 steps)"
  grep -E 'step (1|10|20)/|Engine|peak|Steps' "$OUT/finetune-$m.log" | head -8
done
