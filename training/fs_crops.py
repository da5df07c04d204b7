"""FreeSurfer-protocol training crops: the SynthSeg label maps' hippocampi (aseg 17 / 53),
framed exactly as the full-head pipeline frames a hippocampus for a crop model
(src/infer/msd-frame.ts), with an image synthesised SynthSeg-style from the labels.

Framing (msd-frame.ts, core/fullhead/roi.ts): 1 mm voxels; the left hippocampus in RAS, the
right one mirrored in x (LAS), so voxel i runs lateral -> medial, j posterior -> anterior, k
inferior -> superior; size MSD_CROP_DIMS, the hippocampus centroid at the crop centre +
MSD_CENTROID_OFFSET. The pipeline places its first crop from the registration and re-cuts
it around the mask's centroid, so training crops get a random rigid jitter around that
placement (translation, rotation, scale: JITTER_*).

Array convention as data.py: [D, H, W] = voxel (i, j, k).

Cost: each label map is read once and cut to one SUB_BOX per side (cached in memory), so a
sample synthesises only ~0.7 M voxels around one hippocampus before it is framed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np
from scipy import ndimage

# src/infer/msd-frame.ts: MSD_CROP_DIMS and MSD_CENTROID_OFFSET (voxels, i j k of the frame).
MSD_CROP_DIMS = (35, 50, 36)
MSD_CENTROID_OFFSET = np.array([-2.3, 1.3, -2.4])
# FreeSurfer aseg codes of the hippocampus (labels_table.txt).
HIPPOCAMPUS = {"left": 17, "right": 53}
# Where the full-head pipeline's crop can land relative to where it should (mm, degrees,
# fraction): the first crop comes from a registration that is a few mm off (msd-frame.ts
# AAL_TO_HIPPOCAMPUS spread ~1 mm, registration ~1-2 mm, anatomy beyond an affine), the
# re-cut crop within RECENTRE_VOXELS = 2 of the mask centroid; heads are tilted in real
# scans by up to ~10 degrees against the scanner axes; scale covers head size.
JITTER_MM_SD = 2.0
JITTER_MM_MAX = 6.0
ROTATION_DEG_MAX = 10.0
SCALE_RANGE = (0.92, 1.08)
# Half-size of the cached box around each hippocampus centroid, voxels: the frame's
# half-diagonal (~35 mm) after the largest rotation, scale and jitter, plus room for blur.
SUB_HALF = 44
# Codes that are not brain (label 0, and SynthSeg's extra-cerebral labels 502-530): zeroed
# when a skull-stripped scan is simulated (bert's norm.mgz / brain.mgz, vxm_subject).
EXTRA_CEREBRAL_MIN = 500
SKULL_STRIP_PROBABILITY = 0.5

MapsDir = Path


def default_maps_dir() -> Path:
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("SEAHORSE_SHARED", repo.parent / "shared"))
    return Path(os.environ.get("SEAHORSE_DATA", shared / "data")) / "synthseg_label_maps"


@dataclass
class SideBox:
    """Labels around one hippocampus, in the frame orientation of its side (right mirrored)."""
    map_name: str
    side: str
    labels: np.ndarray  # int16 [2*SUB_HALF+1]^3, RAS (left) or LAS (right)
    centroid: np.ndarray  # hippocampus centroid in `labels` voxels
    volume_mm3: float


def load_side_boxes(path: Path) -> list[SideBox]:
    """One label map -> its two SideBoxes (left in RAS, right mirrored in x)."""
    img = nib.as_closest_canonical(nib.load(str(path)))
    zooms = img.header.get_zooms()[:3]
    if not np.allclose(zooms, 1.0, atol=1e-3):
        raise ValueError(f"{path.name}: expected 1 mm voxels, got {zooms}")
    ras = np.rint(np.asarray(img.dataobj)).astype(np.int16)
    boxes = []
    for side, code in HIPPOCAMPUS.items():
        arr = ras if side == "left" else ras[::-1]
        idx = np.argwhere(arr == code)
        if len(idx) == 0:
            raise ValueError(f"{path.name}: no label {code}")
        c = idx.mean(0)
        lo = np.rint(c).astype(int) - SUB_HALF
        pad = [(max(0, -lo[a]), max(0, lo[a] + 2 * SUB_HALF + 1 - arr.shape[a])) for a in range(3)]
        padded = np.pad(arr, pad)
        lo_p = lo + np.array([p[0] for p in pad])
        sub = padded[tuple(slice(lo_p[a], lo_p[a] + 2 * SUB_HALF + 1) for a in range(3))]
        boxes.append(SideBox(path.name, side, np.ascontiguousarray(sub), c - lo, float(len(idx))))
    return boxes


def frame_transform(rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """A (3x3 matrix, translation mm) perturbing the ideal framing; identity without rng."""
    if rng is None:
        return np.eye(3), np.zeros(3)
    angles = np.deg2rad(rng.uniform(-ROTATION_DEG_MAX, ROTATION_DEG_MAX, 3))
    rot = np.eye(3)
    for axis, ang in enumerate(angles):
        c, s = np.cos(ang), np.sin(ang)
        r = np.eye(3)
        a, b = [x for x in range(3) if x != axis]
        r[a, a], r[a, b], r[b, a], r[b, b] = c, -s, s, c
        rot = rot @ r
    scale = np.diag(rng.uniform(*SCALE_RANGE, 3))
    shift = np.clip(rng.normal(0, JITTER_MM_SD, 3), -JITTER_MM_MAX, JITTER_MM_MAX)
    return rot @ scale, shift


def frame_coords(box: SideBox, matrix: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Box voxel coordinates [3, D, H, W] of every frame voxel: the hippocampus centroid at
    the frame centre + MSD_CENTROID_OFFSET, perturbed by (matrix, shift)."""
    dims = np.array(MSD_CROP_DIMS)
    grid = np.stack(np.meshgrid(*[np.arange(d, dtype=np.float64) for d in dims], indexing="ij"))
    rel = grid - ((dims - 1) / 2 + MSD_CENTROID_OFFSET)[:, None, None, None]
    return np.einsum("ab,b...->a...", matrix, rel) + (box.centroid + shift)[:, None, None, None]


def frame_box(box: SideBox, image: np.ndarray, rng: np.random.Generator | None,
              exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(image crop float32 trilinear, hippocampus mask uint8 nearest) on a perturbed frame.
    With rng None the frame is the pipeline's ideal one (msdFrame: rounded to whole voxels
    when `exact`, as msdFrame rounds)."""
    matrix, shift = frame_transform(rng)
    if exact:
        dims = np.array(MSD_CROP_DIMS)
        first = np.rint(box.centroid - MSD_CENTROID_OFFSET - (dims - 1) / 2).astype(int)
        sl = tuple(slice(first[a], first[a] + dims[a]) for a in range(3))
        code = HIPPOCAMPUS[box.side]
        return image[sl].astype(np.float32), (box.labels[sl] == code).astype(np.uint8)
    coords = frame_coords(box, matrix, shift)
    img = ndimage.map_coordinates(image, coords, order=1, mode="constant", cval=0.0).astype(np.float32)
    lab = ndimage.map_coordinates(box.labels, coords, order=0, mode="constant", cval=0)
    return img, (lab == HIPPOCAMPUS[box.side]).astype(np.uint8)


Synthesiser = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def skull_strip(labels: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Zero outside the brain (label 0 and the extra-cerebral codes), like a brain mask."""
    out = image.copy()
    out[(labels == 0) | (labels >= EXTRA_CEREBRAL_MIN)] = 0
    return out


def sample(box: SideBox, synthesise: Synthesiser, rng: np.random.Generator,
           jitter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One training crop: synthesise the box from its labels, maybe skull-strip, frame it."""
    image = synthesise(box.labels, rng)
    if rng.random() < SKULL_STRIP_PROBABILITY:
        image = skull_strip(box.labels, image)
    return frame_box(box, image, rng if jitter else None)
