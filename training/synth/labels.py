"""Label maps and label groups for synthesis.

The 20 SynthSeg training label maps (Apache-2.0, BBillot/SynthSeg commit 66342c1,
`data/training_label_maps`) are 256³ at 1 mm, LIA, float32 FreeSurfer codes plus SynthSeg's
extra-cerebral codes 502–530. We keep them as a compact `uint8` index into
`GENERATION_LABELS` (54 codes) so 20 maps fit in ~340 MB.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path(os.environ.get('SEAHORSE_DATA', Path(__file__).resolve().parents[3] / 'shared' / 'data')) / 'synthseg_label_maps'

# FreeSurfer codes (FreeSurferColorLUT).
LEFT_HIPPOCAMPUS = 17
RIGHT_HIPPOCAMPUS = 53
LEFT_CEREBRAL_WM = 2
RIGHT_CEREBRAL_WM = 41
# Extra-cerebral tissue in SynthSeg's maps starts at 500 (skull, scalp, eyes, muscle, fat, …).
EXTRA_CEREBRAL_MIN = 500
# Intracranial CSF outside the ventricles (SynthSeg's "CSF"): kept by skull-stripping.
EXTRACEREBRAL_CSF = 24


@dataclass(frozen=True)
class Priors:
    """`generation_priors_t1.json`: SynthSeg's generation labels and classes."""
    labels: np.ndarray   # (54,) FreeSurfer / SynthSeg codes, index = compact label index
    classes: np.ndarray  # (54,) intensity class of each code (left/right share a class)


def load_priors(directory: Path = DEFAULT_DIR) -> Priors:
    d = json.loads((Path(directory) / 'generation_priors_t1.json').read_text())
    return Priors(labels=np.asarray(d['generation_labels'], np.int32),
                  classes=np.asarray(d['generation_classes'], np.int32))


def label_map_paths(directory: Path = DEFAULT_DIR) -> list[Path]:
    return sorted(Path(directory).glob('training_seg_*.nii.gz'))


@dataclass(frozen=True)
class LabelMap:
    """One label map as compact indices (uint8, index into `codes`) plus its voxel→world
    RAS affine (mm)."""
    index: np.ndarray    # (X, Y, Z) uint8
    affine: np.ndarray   # (4, 4) float64, voxel → world RAS mm
    codes: np.ndarray    # (n,) int32, FreeSurfer code of each index
    name: str = ''

    def codes_at(self, idx: np.ndarray) -> np.ndarray:
        return self.codes[idx]


def compact(codes_volume: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """FreeSurfer codes → uint8 index into `codes`; unknown codes → background (index of 0)."""
    lut = np.full(int(max(codes.max(), codes_volume.max())) + 1, int(np.flatnonzero(codes == 0)[0]), np.uint8)
    lut[codes] = np.arange(len(codes), dtype=np.uint8)
    return lut[codes_volume.astype(np.int64)]


def load_label_map(path: Path, priors: Priors, cache_dir: Path | None = None) -> LabelMap:
    """Load a label map (optionally via an .npz cache of the compact index: 1.8 s → 0.1 s)."""
    import nibabel as nib
    path = Path(path)
    if cache_dir is not None:
        cache = Path(cache_dir) / (path.name.replace('.nii.gz', '') + '.npz')
        if cache.exists():
            z = np.load(cache)
            return LabelMap(z['index'], z['affine'], priors.labels, path.name)
    img = nib.load(str(path))
    vol = np.asarray(img.dataobj)
    lm = LabelMap(compact(np.rint(vol).astype(np.int32), priors.labels), img.affine.astype(np.float64), priors.labels, path.name)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix('.tmp.npz')
        np.savez(tmp, index=lm.index, affine=lm.affine)
        os.replace(tmp, cache)
    return lm


def crop_label_map(lm: LabelMap, centre_world: np.ndarray, half_size_mm: float) -> LabelMap:
    """The sub-box of `lm` within `half_size_mm` (per axis, world-aligned bound) of a world
    point; synthesising a small output grid then touches only this box (fast path for
    1 mm hippocampus crops)."""
    inv = np.linalg.inv(lm.affine)
    c = inv[:3, :3] @ np.asarray(centre_world, float) + inv[:3, 3]
    r = np.abs(inv[:3, :3]).sum(1) * half_size_mm
    lo = np.clip(np.floor(c - r).astype(int), 0, np.array(lm.index.shape))
    hi = np.clip(np.ceil(c + r).astype(int) + 1, 0, np.array(lm.index.shape))
    sub = lm.index[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    aff = lm.affine.copy()
    aff[:3, 3] = lm.affine[:3, :3] @ lo + lm.affine[:3, 3]
    return LabelMap(np.ascontiguousarray(sub), aff, lm.codes, lm.name)


def structure_centroid(lm: LabelMap, code: int) -> np.ndarray:
    """World RAS centroid (mm) of one FreeSurfer code."""
    k = int(np.flatnonzero(lm.codes == code)[0])
    ijk = np.argwhere(lm.index == k).astype(float)
    if len(ijk) == 0:
        raise ValueError(f'label {code} absent from {lm.name}')
    return lm.affine[:3, :3] @ ijk.mean(0) + lm.affine[:3, 3]


def group_masks(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean lookup tables over the compact indices."""
    return {
        'background': codes == 0,
        'extra_cerebral': codes >= EXTRA_CEREBRAL_MIN,
        'brain': (codes > 0) & (codes < EXTRA_CEREBRAL_MIN),
        # intracranial without the hippocampi: the localiser's class 1
        'brain_other': (codes > 0) & (codes < EXTRA_CEREBRAL_MIN) & (codes != LEFT_HIPPOCAMPUS) & (codes != RIGHT_HIPPOCAMPUS),
        'left_hippocampus': codes == LEFT_HIPPOCAMPUS,
        'right_hippocampus': codes == RIGHT_HIPPOCAMPUS,
        'cerebral_wm': (codes == LEFT_CEREBRAL_WM) | (codes == RIGHT_CEREBRAL_WM),
    }
