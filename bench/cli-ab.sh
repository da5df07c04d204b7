#!/usr/bin/env bash
# `seahorse segment` on the brainchop sample from two checkouts, alternating, for a before/after
# comparison on the same machine and load (each checkout's own CLI bundle: npm run build:cli):
#   bash bench/cli-ab.sh <before checkout> <after checkout> [pairs, default 5]
# Prints per run: read → masks, the localiser beside the rest, the registration, each side's
# segmentation (ms), and the process's wall and CPU time (s).
set -euo pipefail
A=$1; B=$2; N=${3:-5}
out=$(mktemp -d)
for _ in $(seq "$N"); do
  for d in "$A" "$B"; do
    (cd "$d" && /usr/bin/time -f "%e %U %S" -o "$out/time" node bin/seahorse.mjs segment public/samples/brainchop_t1_crop.nii.gz -o "$out/labels.nii.gz" --json > "$out/run.json")
    node -e '
      const [dir, out] = process.argv.slice(1);
      const t = require(out + "/run.json").timingsMs;
      const [wall, user, sys] = require("fs").readFileSync(out + "/time", "utf8").trim().split(" ").map(Number);
      const r = (k) => Math.round(t[k]);
      console.log(`${dir}  read→masks ${r("total, read to masks")}  localiser ${r("localiser, beside the rest")}  registration ${r("localise")}  left ${r("segment left")}  right ${r("segment right")}  wall ${wall}  cpu ${(user + sys).toFixed(2)}`);
    ' "$d" "$out"
  done
done
uptime
rm -rf "$out"
