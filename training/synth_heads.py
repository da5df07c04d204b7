"""Write synthetic labelled T1 heads (training/synth) as a folder `seahorse finetune` reads.

    cd training && /usr/bin/python3 synth_heads.py --maps 1,2,3 --seed 1400 -o <dir>

<dir>/images/synth_<map>.nii.gz (float32) and <dir>/labels/synth_<map>.nii.gz (int16, FreeSurfer
codes on the same grid): one head per label map, 1 mm, 176 × 208 × 176 around the midpoint of
the two hippocampi, as a research T1 looks: T1-like contrast (SynthSeg's random contrast only with
`--p-agnostic` > 0, the share of heads drawn with it; default 0), 0.8–1.3 mm isotropic acquisition (no thick slices), no field-of-view cut, skull-stripping or
defacing; pose, deformation, bias, noise and gamma as the generator draws them. Seeded: `default_rng([seed, map])`.
Derived voxel-wise from the SynthSeg label maps (Apache-2.0): never commit the output.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np

from synth import HEAD, label_map_paths, load_label_map, load_priors, structure_centroid, synthesise
from synth.labels import LEFT_HIPPOCAMPUS, RIGHT_HIPPOCAMPUS

SHAPE = (176, 208, 176)
T1_HEAD = replace(HEAD, p_agnostic=0.0, p_thick_slices=0.0, acq_res_range=(0.8, 1.3), p_fov_crop=0.0, p_skull_strip=0.0, p_deface=0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--maps', default='1,2,3', help='1-based label map numbers (19, 20 are the held-out validation maps)')
    ap.add_argument('--seed', type=int, default=1400)
    ap.add_argument('--p-agnostic', type=float, default=0.0,
                    help="probability of SynthSeg's random contrast per head (more varied training heads); 0: T1-like only")
    ap.add_argument('-o', '--out', type=Path, required=True)
    args = ap.parse_args()
    cfg = replace(T1_HEAD, p_agnostic=args.p_agnostic)
    priors = load_priors()
    paths = label_map_paths()
    for sub in ('images', 'labels'):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    for k in (int(m) for m in args.maps.split(',')):
        lm = load_label_map(paths[k - 1], priors, Path(__file__).resolve().parent / 'runs' / 'cache')
        mid = (structure_centroid(lm, LEFT_HIPPOCAMPUS) + structure_centroid(lm, RIGHT_HIPPOCAMPUS)) / 2
        s = synthesise(lm, priors, SHAPE, 1.0, mid, np.random.default_rng([args.seed, k]), cfg)
        name = f'synth_{k:02d}.nii.gz'
        nib.save(nib.Nifti1Image(s.image.astype(np.float32), s.affine), args.out / 'images' / name)
        nib.save(nib.Nifti1Image(s.labels.astype(np.int16), s.affine), args.out / 'labels' / name)
        print(f'{name}: {s.info}', flush=True)


if __name__ == '__main__':
    main()
