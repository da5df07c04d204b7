"""A seeded cohort of synthetic full-head T1s as real archives hold them, from held-out label
maps (issue 13's acceptance kinds), for `seahorse eval` and `npm run bench -- synth-cohort`:

    cd training && nice -n 5 /usr/bin/python3 synth_cohort.py --maps 19,20 --heads 12 --seed 1900 -o /work/cohort/synth-heldout
    cd training && /usr/bin/python3 synth_cohort.py --check      (~10 s: the header orientations keep the anatomy in place)

Maps 19 and 20 (the default) were never trained on by the FreeSurfer-protocol models (they chose
checkpoints and the calibration offset). Writes <out>/images/<name>.nii.gz (the scan),
<out>/labels/<name>.nii.gz (int16, the head's FreeSurfer codes on the same grid: 17 left, 53
right hippocampus) and <out>/draws.json (what each head drew). Derived voxel-wise from the SynthSeg
label maps (Apache-2.0): never commit the output.

Each head combines, by its index n in the cohort (map-major; 12+ heads cover every kind):
- header ORIENTATIONS[n % 5]: 'LIA' is FreeSurfer-conformed (256³ at 1 mm, the whole map's field
  of view, neck and shoulders in view); 'RAS', 'LPS', 'oblique' (RAS axes turned 10–25° about the
  left–right or anterior–posterior axis), 'ASL' (a sagittal acquisition's axis order);
- PREPARATIONS[n % 4]: as acquired, defaced, skull-stripped, or a 160 mm superior–inferior field
  of view (the top of the head to 65 mm below the hippocampi);
- LOOKS[n % 3]: MPRAGE-like T1 (the generator's T1 table, gamma, global scale, float32) or
  FreeSurfer-normalised (white matter 110, uint8: T1.mgz-like, norm.mgz-like when skull-stripped);
- VOXELS[n % 4] (mm, per stored voxel axis; not for 'LIA', always 1 mm), acquired no finer than
  the maps' 1 mm.
The rest as the generator's HEAD preset draws it (training/synth): pose ±15°, scale, shear,
deformation, bias field, Rician noise, defacing angle, skull-strip margin. Seeded: for head h of
a map, `default_rng([seed, map, h])` draws the field-of-view jitter and oblique angle,
`default_rng([seed, map, h, 1])` the sample.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations as ornt
from scipy.linalg import polar

from synth import HEAD, label_map_paths, load_label_map, load_priors, structure_centroid, synthesise
from synth.geometry import rotation_matrix
from synth.labels import LEFT_HIPPOCAMPUS, RIGHT_HIPPOCAMPUS

ORIENTATIONS = ('LIA', 'RAS', 'LPS', 'oblique', 'ASL')
PREPARATIONS = ('as acquired', 'defaced', 'skull-stripped', 'FOV 160 mm S-I')
LOOKS = ('MPRAGE', 'MPRAGE', 'FreeSurfer-normalised')
VOXELS = ((1.0, 1.0, 1.2), (0.7, 0.7, 0.7), (1.5, 1.5, 1.5), (1.0, 1.0, 1.0))

# Field of view (mm along R, A, S) of a head as acquired: a 176–192-slice sagittal MPRAGE's
# left–right extent and a 256 mm square in-plane, which takes in the label maps' whole head and neck.
FULL_FOV_MM = (180.0, 256.0, 256.0)
CONFORMED = (256, 1.0)                     # FreeSurfer's conformed grid: 256³ at 1 mm
FOV_SI_ABOVE_MM, FOV_SI_BELOW_MM = 95.0, 65.0   # the cropped field of view, about the hippocampi
FOV_JITTER_MM = 8.0                        # where the operator put the box, ± per axis
OBLIQUE_DEG = (10.0, 25.0)
ACQ_RES_SPREAD = 1.15                      # acquisition resolution up to 15 % coarser than the voxels

# T1-like contrast only, no thick slices (the voxel grid carries anisotropy), no field-of-view
# crop by zeroing (the grid is cut instead); strip / deface / look set per head below.
COHORT_HEAD = replace(HEAD, p_agnostic=0.0, p_thick_slices=0.0, p_fov_crop=0.0)


def rotation_deg(M: np.ndarray) -> float:
    """Angle of the rotation part of the generator's linear map (polar decomposition), degrees."""
    R, _ = polar(np.asarray(M, float))
    return float(np.rad2deg(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def draw_head(n: int, rng: np.random.Generator, map_centre: np.ndarray, mid: np.ndarray) -> dict:
    """The cohort's choices for head n: orientation, preparation, look, voxel size, field of view."""
    orientation, preparation, look = ORIENTATIONS[n % 5], PREPARATIONS[n % 4], LOOKS[n % 3]
    jitter = rng.uniform(-FOV_JITTER_MM, FOV_JITTER_MM, 3)
    conformed = orientation == 'LIA'
    voxel = (CONFORMED[1],) * 3 if conformed else VOXELS[n % 4]
    extent = np.full(3, CONFORMED[0] * CONFORMED[1]) if conformed else np.array(FULL_FOV_MM)
    centre = map_centre + jitter
    if preparation == 'FOV 160 mm S-I':
        extent[2] = FOV_SI_ABOVE_MM + FOV_SI_BELOW_MM
        centre[2] = mid[2] + (FOV_SI_ABOVE_MM - FOV_SI_BELOW_MM) / 2 + jitter[2]
    d = dict(orientation=orientation, preparation=preparation, look=look, voxel_mm=list(voxel),
             fov_mm=extent.round(1).tolist(), fov_centre_world=centre.round(1).tolist())
    if orientation == 'oblique':
        d['oblique_axis'] = ['R', 'A'][int(rng.integers(2))]
        d['oblique_deg'] = round(float(rng.uniform(*OBLIQUE_DEG) * rng.choice([-1, 1])), 1)
    return d


def stored_axes(orientation: str) -> str:
    return 'RAS' if orientation == 'oblique' else orientation


def synthesise_head(lm, priors, d: dict, rng: np.random.Generator):
    """Image, labels and affine in the head's stored orientation."""
    axes = stored_axes(d['orientation'])
    target = ornt.axcodes2ornt(tuple(axes))
    # Voxel sizes are per stored axis; the generator's grid is RAS.
    spacing_ras = np.empty(3)
    for stored, (ras_axis, _) in enumerate(target):
        spacing_ras[int(ras_axis)] = d['voxel_mm'][stored]
    shape = np.maximum(1, np.rint(np.asarray(d['fov_mm']) / spacing_ras)).astype(int)
    coarsest = max(1.0, max(d['voxel_mm']))
    cfg = replace(COHORT_HEAD, acq_res_range=(coarsest, coarsest * ACQ_RES_SPREAD),
                  p_skull_strip=float(d['preparation'] == 'skull-stripped'),
                  p_deface=float(d['preparation'] == 'defaced'),
                  p_freesurfer_look=float(d['look'] == 'FreeSurfer-normalised'))
    s = synthesise(lm, priors, tuple(shape), spacing_ras, np.asarray(d['fov_centre_world']), rng, cfg)
    # RAS grid → stored axis order (a pure relabelling of voxels: world positions are kept).
    to = ornt.ornt_transform(ornt.axcodes2ornt(('R', 'A', 'S')), target)
    image = ornt.apply_orientation(s.image, to)
    labels = ornt.apply_orientation(s.labels, to)
    affine = s.affine @ ornt.inv_ornt_aff(to, s.image.shape)
    if d['orientation'] == 'oblique':
        # An oblique acquisition: the grid turned about its centre (world moves with it, labels too).
        angle = np.deg2rad(d['oblique_deg'])
        R = rotation_matrix([angle, 0, 0] if d['oblique_axis'] == 'R' else [0, angle, 0])
        c = affine[:3, :3] @ ((np.array(image.shape) - 1) / 2) + affine[:3, 3]
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = c - R @ c
        affine = T @ affine
    return np.ascontiguousarray(image), np.ascontiguousarray(labels), affine, s.info


def check() -> None:
    """Every stored orientation shows the same anatomy at the same world place: one small, still,
    seeded head per orientation, its left hippocampus's world centroid against the RAS head's."""
    priors = load_priors()
    lm = load_label_map(label_map_paths()[18], priors, Path(__file__).resolve().parent / 'runs' / 'cache')
    hip = structure_centroid(lm, LEFT_HIPPOCAMPUS)
    still = dict(max_rotation_deg=0.0, scale_range=(1.0, 1.0), max_shear=0.0, deform_std_mm=0.0)
    global COHORT_HEAD
    saved, COHORT_HEAD = COHORT_HEAD, replace(COHORT_HEAD, **still)
    try:
        centroid = {}
        for o in ORIENTATIONS:
            d = dict(orientation=o, preparation='as acquired', look='MPRAGE', voxel_mm=[2.0, 2.0, 2.0],
                     fov_mm=[60.0, 70.0, 60.0], fov_centre_world=hip.tolist(), oblique_axis='R', oblique_deg=20.0)
            image, labels, affine, _ = synthesise_head(lm, priors, d, np.random.default_rng(3))
            assert ''.join(nib.aff2axcodes(affine)) == ('RAS' if o == 'oblique' else o), (o, nib.aff2axcodes(affine))
            centroid[o] = affine[:3, :3] @ np.argwhere(labels == LEFT_HIPPOCAMPUS).mean(0) + affine[:3, 3]
            # Anisotropic voxels are per stored axis: the third (the slice axis) gets the 2.5 mm.
            _, _, aff_aniso, _ = synthesise_head(lm, priors, {**d, 'voxel_mm': [2.0, 2.0, 2.5]}, np.random.default_rng(3))
            assert np.allclose(np.linalg.norm(aff_aniso[:3, :3], axis=0), [2.0, 2.0, 2.5]), (o, aff_aniso)
        # Same grid points in another axis order: the very same voxels, so the same centroid.
        for o in ('LIA', 'LPS', 'ASL'):
            assert np.linalg.norm(centroid[o] - centroid['RAS']) < 1e-3, (o, centroid[o], centroid['RAS'])
        # Oblique: the grid (and the anatomy with it) turned 20° about its centre, which is the centroid here.
        assert np.linalg.norm(centroid['oblique'] - centroid['RAS']) < 2.0, (centroid['oblique'], centroid['RAS'])
        assert np.linalg.norm(centroid['RAS'] - hip) < 2.0, (centroid['RAS'], hip)
    finally:
        COHORT_HEAD = saved
    print(f'synth_cohort --check: {len(ORIENTATIONS)} orientations keep the anatomy in place')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--maps', default='19,20', help='1-based label map numbers (19, 20: held out from training)')
    ap.add_argument('--heads', type=int, default=12, help='heads per map')
    ap.add_argument('--seed', type=int, default=1900)
    ap.add_argument('-o', '--out', type=Path)
    ap.add_argument('--check', action='store_true', help='run the orientation check and exit')
    args = ap.parse_args()
    if args.check:
        return check()
    if args.out is None:
        ap.error('say where to write the cohort: -o <dir>')
    priors = load_priors()
    paths = label_map_paths()
    for sub in ('images', 'labels'):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    draws = []
    maps = [int(m) for m in args.maps.split(',')]
    for mi, k in enumerate(maps):
        lm = load_label_map(paths[k - 1], priors, Path(__file__).resolve().parent / 'runs' / 'cache')
        map_centre = lm.affine[:3, :3] @ ((np.array(lm.index.shape) - 1) / 2) + lm.affine[:3, 3]
        mid = (structure_centroid(lm, LEFT_HIPPOCAMPUS) + structure_centroid(lm, RIGHT_HIPPOCAMPUS)) / 2
        for i in range(args.heads):
            n = mi * args.heads + i
            d = draw_head(n, np.random.default_rng([args.seed, k, i]), map_centre, mid)
            image, labels, affine, info = synthesise_head(lm, priors, d, np.random.default_rng([args.seed, k, i, 1]))
            name = f'map{k:02d}_head{i:02d}.nii.gz'
            fs_look = d['look'] == 'FreeSurfer-normalised'
            nib.save(nib.Nifti1Image(image.astype(np.uint8 if fs_look else np.float32), affine), args.out / 'images' / name)
            nib.save(nib.Nifti1Image(labels.astype(np.int16), affine), args.out / 'labels' / name)
            rec = dict(case=name, map=k, head=i, seed=[args.seed, k, i], **d, shape=list(image.shape),
                       axcodes=''.join(nib.aff2axcodes(affine)), pose_rotation_deg=round(rotation_deg(info['linear']), 1),
                       generator=info)
            draws.append(rec)
            print(json.dumps({x: rec[x] for x in ('case', 'orientation', 'preparation', 'look', 'voxel_mm', 'shape', 'pose_rotation_deg')}), flush=True)
            (args.out / 'draws.json').write_text(json.dumps(draws, indent=1) + '\n')


if __name__ == '__main__':
    main()
