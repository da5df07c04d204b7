"""FreeSurfer-protocol training crops: the SynthSeg label maps' hippocampi (aseg 17 / 53),
synthesised with the shared generator (training/synth, preset FS_CROP) and framed exactly as
the full-head pipeline frames a hippocampus for a crop model (src/infer/msd-frame.ts).

Framing (msd-frame.ts, core/fullhead/roi.ts): 1 mm voxels; the left hippocampus in RAS, the
right one mirrored in x (LAS), so voxel i runs lateral -> medial, j posterior -> anterior, k
inferior -> superior; size MSD_CROP_DIMS, the hippocampus centroid at the crop centre +
MSD_CENTROID_OFFSET, rounded to whole voxels as msdFrame rounds. The generator already
rotates (±12°), scales, shears and deforms the subject inside its RAS box; on top of that the
crop is moved by a whole-voxel jitter (JITTER_*), because the pipeline's first crop comes from
a registration a few mm off and its re-cut lands within RECENTRE_VOXELS of the mask centroid.

Array convention as data.py: [D, H, W] = voxel (i, j, k).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synth import (CROP, LEFT_HIPPOCAMPUS, RIGHT_HIPPOCAMPUS, LabelMap, Priors, crop_label_map, label_map_paths,
                   load_label_map, structure_centroid, synthesise)

# src/infer/msd-frame.ts: MSD_CROP_DIMS and MSD_CENTROID_OFFSET (voxels, i j k of the frame).
MSD_CROP_DIMS = (35, 50, 36)
MSD_CENTROID_OFFSET = np.array([-2.3, 1.3, -2.4])
HIPPOCAMPUS = {"left": LEFT_HIPPOCAMPUS, "right": RIGHT_HIPPOCAMPUS}
# Whole-voxel jitter of the crop around the ideal framing (mm = voxels): registration error
# (~1–2 mm) plus AAL_TO_HIPPOCAMPUS's spread (~1 mm) for a first crop; clipped so the
# hippocampus (median margins 5–7 voxels in MSD crops) stays mostly inside.
JITTER_MM_SD = 2.0
JITTER_MM_MAX = 5
# Synthesis box around the hippocampus (voxels of 1 mm): the frame plus the largest jitter
# and offset, plus ~3 mm for the generator's deformation moving the hippocampus centroid.
BOX_SHAPE = (60, 72, 60)
# Label map cut around each hippocampus before synthesis: the box's half-diagonal after the
# generator's largest scaling (1.12) and rotation, with room for the deformation.
MAP_HALF_MM = 64.0
# The generator's 1 mm crop preset, with skull-stripping at p 0.5 instead of 0.2: FreeSurfer
# outputs (norm.mgz, brain.mgz) and many archive T1s come skull-stripped.
FS_CROP = replace(CROP, p_skull_strip=0.5)


@dataclass
class SideMap:
    """One hippocampus of one label map: the map cut around it, its centroid and volume."""
    map_name: str
    side: str
    lm: LabelMap
    centre_world: np.ndarray  # mm, RAS
    volume_mm3: float


def load_side_maps(priors: Priors, directory: Path | None = None) -> list[SideMap]:
    """Both hippocampi of every label map (reading the 20 maps takes ~1 min)."""
    out = []
    for path in label_map_paths(directory) if directory else label_map_paths():
        lm = load_label_map(path, priors)
        voxel_mm3 = abs(np.linalg.det(lm.affine[:3, :3]))
        for side, code in HIPPOCAMPUS.items():
            k = int(np.flatnonzero(lm.codes == code)[0])
            c = structure_centroid(lm, code)
            out.append(SideMap(path.name, side, crop_label_map(lm, c, MAP_HALF_MM), c,
                               float((lm.index == k).sum() * voxel_mm3)))
    return out


def save_side_maps(maps: list[SideMap], path: Path) -> None:
    arrays = {"count": np.array(len(maps))}
    for n, m in enumerate(maps):
        arrays.update({f"name{n}": np.array(m.map_name), f"side{n}": np.array(m.side), f"index{n}": m.lm.index,
                       f"affine{n}": m.lm.affine, f"centre{n}": m.centre_world, f"volume{n}": np.array(m.volume_mm3)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def read_side_maps(path: Path, priors: Priors) -> list[SideMap]:
    z = np.load(path, allow_pickle=False)
    return [SideMap(str(z[f"name{n}"]), str(z[f"side{n}"]), LabelMap(z[f"index{n}"], z[f"affine{n}"], priors.labels, str(z[f"name{n}"])),
                    z[f"centre{n}"], float(z[f"volume{n}"])) for n in range(int(z["count"]))]


def frame(image: np.ndarray, mask: np.ndarray, side: str, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut the MSD frame from a RAS box: mirror a right side in x, put the hippocampus
    centroid (+ shift, voxels) where msdFrame puts it; zero outside the box."""
    if side == "right":
        image, mask = image[::-1], mask[::-1]
    idx = np.argwhere(mask)
    if len(idx) == 0:
        raise ValueError("no hippocampus in the synthesised box")
    dims = np.array(MSD_CROP_DIMS)
    first = np.rint(idx.mean(0) + shift - MSD_CENTROID_OFFSET - (dims - 1) / 2).astype(int)
    img = np.zeros(MSD_CROP_DIMS, np.float32)
    lab = np.zeros(MSD_CROP_DIMS, np.uint8)
    lo = np.maximum(first, 0)
    hi = np.minimum(first + dims, image.shape)
    src = tuple(slice(lo[a], hi[a]) for a in range(3))
    dst = tuple(slice(lo[a] - first[a], hi[a] - first[a]) for a in range(3))
    img[dst] = image[src]
    lab[dst] = mask[src]
    return img, lab


def sample(m: SideMap, priors: Priors, rng: np.random.Generator, jitter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One crop (image float32, hippocampus mask uint8), MSD-framed, of shape MSD_CROP_DIMS."""
    s = synthesise(m.lm, priors, BOX_SHAPE, 1.0, m.centre_world, rng, FS_CROP)
    mask = (s.labels == HIPPOCAMPUS[m.side]).astype(np.uint8)
    shift = np.clip(np.rint(rng.normal(0, JITTER_MM_SD, 3)), -JITTER_MM_MAX, JITTER_MM_MAX) if jitter else np.zeros(3)
    return frame(s.image, mask, m.side, shift)
