"""Synthetic FreeSurfer-protocol crops for the few-shot bench's `--domain freesurfer` (issue #16):
SynthSeg-style scans from `../shared/data/synthseg_label_maps`, made by the project's generator
(training/synth) and framed in the MSD frame per side exactly as the FreeSurfer-protocol models'
training crops are (training/fs_crops.py `sample`, the Python twin of src/infer/msd-frame.ts).

  nice -n 10 /usr/bin/python3 bench/fewshot/fs_synth_crops.py [--out .cache/fewshot-fs] [--seed 16]

Writes <out>/pool/{images,labels}/<map>_<side>.nii.gz for the maps the FreeSurfer-protocol models
trained on (training_seg_01..18; one crop per side, crop jitter as in training) and
<out>/test/{images,labels}/… for their held-out validation maps (training_seg_19, 20; framed at the
hippocampus centroid, no jitter). Labels: 1 = that side's hippocampus (aseg 17 / 53), 0 elsewhere.
Deterministic: sample n of a split uses np.random.default_rng([seed, split, n]). Derived voxel-wise
from the Apache-2.0 maps: never committed (.cache/ is ignored).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))
from fs_crops import load_side_maps, sample  # noqa: E402
from synth import load_priors  # noqa: E402
from train_fs import VAL_MAPS  # noqa: E402  (the FS models' held-out maps: 19, 20)


def write(out: Path, name: str, image: np.ndarray, label: np.ndarray) -> None:
    for sub, arr in (("images", image.astype(np.float32)), ("labels", label.astype(np.uint8))):
        (out / sub).mkdir(parents=True, exist_ok=True)
        # 1 mm voxels; the array axes are the MSD frame's (i lateral→medial, j posterior→anterior,
        # k inferior→superior), which the crop models read as they are (orientation "as-is").
        nib.save(nib.Nifti1Image(arr, np.eye(4)), str(out / sub / f"{name}.nii.gz"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / ".cache" / "fewshot-fs")
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    priors = load_priors()
    maps = load_side_maps(priors)
    splits = {"pool": [m for m in maps if m.map_name not in VAL_MAPS], "test": [m for m in maps if m.map_name in VAL_MAPS]}
    for split_no, (split, side_maps) in enumerate(splits.items()):
        for n, m in enumerate(side_maps):
            rng = np.random.default_rng([args.seed, split_no, n])
            image, label = sample(m, priors, rng, jitter=split == "pool")
            name = f"{m.map_name.replace('.nii.gz', '').replace('training_seg_', 'synth')}_{m.side}"
            write(args.out / split, name, image, label)
            print(f"{split} {name}: hippocampus {int(label.sum())} voxels", flush=True)


if __name__ == "__main__":
    main()
