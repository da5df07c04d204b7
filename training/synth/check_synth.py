"""Unit checks of the generator (run by hand; CI runs no Python):
    /usr/bin/python3 -m synth.check_synth        (from training/, ~30 s)
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from . import CROP, HEAD, label_map_paths, load_label_map, load_priors, structure_centroid, synthesise
from .labels import crop_label_map, group_masks

torch.set_num_threads(1)


def main() -> None:
    pr = load_priors()
    paths = label_map_paths()
    assert len(paths) == 20, f'expected the 20 SynthSeg maps, found {len(paths)}'
    lm = load_label_map(paths[0], pr, cache_dir='runs/cache')
    hip = structure_centroid(lm, 17)
    brain_c = np.array([0.0, -16.0, 10.0])
    groups = ('brain', 'left_hippocampus', 'right_hippocampus')

    # 1. Seeded: the same seed gives the same sample, another seed a different one.
    a = synthesise(lm, pr, (32, 32, 32), 4.0, brain_c, np.random.default_rng(5), HEAD, 2, groups)
    b = synthesise(lm, pr, (32, 32, 32), 4.0, brain_c, np.random.default_rng(5), HEAD, 2, groups)
    c = synthesise(lm, pr, (32, 32, 32), 4.0, brain_c, np.random.default_rng(6), HEAD, 2, groups)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.image, c.image)

    # 2. Identity geometry, no perturbation: labels land where the label map has them.
    still = replace(HEAD, max_rotation_deg=0, scale_range=(1, 1), max_shear=0, deform_std_mm=0,
                    p_skull_strip=0, p_deface=0, p_fov_crop=0)
    s = synthesise(lm, pr, (40, 40, 40), 1.0, hip, np.random.default_rng(1), still)
    ijk = np.argwhere(s.labels == 17).mean(0)
    got = s.affine[:3, :3] @ ijk + s.affine[:3, 3]
    assert np.linalg.norm(got - hip) < 1.0, (got, hip)

    # 3. Skull-stripping: zero outside a (dilated) brain, brain interior kept.
    strip = replace(still, p_skull_strip=1.0, strip_margin_mm=(0.0, 0.0), p_freesurfer_look=0.0)
    s = synthesise(lm, pr, (64, 64, 64), 4.0, brain_c, np.random.default_rng(2), strip, 2, groups)
    # (smoothing the mask fills a few narrow gaps between brain parts, as real masks do)
    far_outside = s.fractions['brain'] == 0
    assert np.mean(s.image[far_outside & (s.labels >= 500)] > 0) < 0.002
    assert np.mean(s.image[s.fractions['brain'] == 1] > 0) > 0.99

    # 4. Defacing: brain never zeroed; something anterior-inferior is.
    deface = replace(still, p_deface=1.0, p_skull_strip=0.0, noise_range=(1.0, 1.0))
    s0 = synthesise(lm, pr, (64, 64, 64), 4.0, brain_c, np.random.default_rng(3), replace(deface, p_deface=0.0), 2, groups)
    s1 = synthesise(lm, pr, (64, 64, 64), 4.0, brain_c, np.random.default_rng(3), deface, 2, groups)
    assert np.all(s1.image[s1.fractions['brain'] > 0] > 0)
    zeroed = (s1.image == 0) & (s0.image > 0)
    assert zeroed.sum() > 500, zeroed.sum()
    zc = s1.affine[:3, :3] @ np.argwhere(zeroed).mean(0) + s1.affine[:3, 3]
    assert zc[1] > brain_c[1] + 30 and zc[2] < brain_c[2], zc   # anterior and inferior

    # 5. Field of view: zero outside the box, which is centred on the grid centre.
    fov = replace(still, p_fov_crop=1.0, fov_mm=((100, 100), (120, 120), (80, 80)),
                  fov_centre_offset_mm=((0, 0), (0, 0), (0, 0)), noise_range=(1.0, 1.0))
    s = synthesise(lm, pr, (72, 72, 72), 4.0, brain_c, np.random.default_rng(4), fov, 2, groups)
    nz = np.argwhere(s.image > 0)
    ext = (nz.max(0) - nz.min(0) + 1) * 4.0
    assert np.all(np.abs(ext - [100, 120, 80]) <= 8), ext

    # 6. FreeSurfer look: WM median 110.
    fs = replace(still, p_freesurfer_look=1.0, p_agnostic=0.0)
    s = synthesise(lm, pr, (48, 48, 48), 1.0, hip + [0, 0, 20], np.random.default_rng(7), fs)
    wm = s.image[np.isin(s.labels, [2, 41])]
    assert abs(np.median(wm) - 110) < 3, np.median(wm)

    # 7. Crop path: the cropped label map gives the same sample as the whole one.
    sub = crop_label_map(lm, hip, 60)
    s_full = synthesise(lm, pr, (48, 48, 48), 1.0, hip, np.random.default_rng(8), CROP)
    s_sub = synthesise(sub, pr, (48, 48, 48), 1.0, hip, np.random.default_rng(8), CROP)
    assert np.array_equal(s_full.labels, s_sub.labels) and np.allclose(s_full.image, s_sub.image)

    # 8. Fractions are partial-volume fractions.
    s = synthesise(lm, pr, (40, 40, 40), 4.0, brain_c, np.random.default_rng(9), HEAD, 2,
                   ('brain_other', 'left_hippocampus', 'right_hippocampus'))
    tot = sum(s.fractions.values())
    assert tot.max() <= 1.0 + 1e-6 and np.any((tot > 0) & (tot < 1))
    assert set(np.unique(s.fractions['left_hippocampus'] * 8)) <= set(range(9))

    # 9. Anisotropic voxels: the grid has the asked spacing and the labels stay in place.
    s = synthesise(lm, pr, (40, 40, 32), (1.0, 1.0, 1.25), hip, np.random.default_rng(1), still)
    assert np.allclose(np.linalg.norm(s.affine[:3, :3], axis=0), [1.0, 1.0, 1.25])
    got = s.affine[:3, :3] @ np.argwhere(s.labels == 17).mean(0) + s.affine[:3, 3]
    assert np.linalg.norm(got - hip) < 1.0, (got, hip)
    print('check_synth: all 9 checks passed')


if __name__ == '__main__':
    main()
