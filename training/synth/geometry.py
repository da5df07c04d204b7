"""Output grids and random spatial transforms (affine + smooth deformation).

Convention: an output grid has a voxel → world affine `A` (mm, RAS). A synthetic scan's
world frame is the output grid's; the subject (label map) is placed in it by a random
transform: the world point x of an output voxel shows the subject's point
    y = M (x − c) + c + d(x)
(M: rotation · scaling · shear about the grid centre c; d: smooth displacement, mm), and
y is looked up in the label map by nearest neighbour. Only the output grid's points are
ever touched, so a small output grid (a 1 mm hippocampus box) costs only its own size:
that is the "crop the label map first" fast path.
"""
from __future__ import annotations

import numpy as np

from .intensity import smooth_field
from .labels import LabelMap


def grid_affine(shape, spacing_mm, centre_world, rotation: np.ndarray | None = None) -> np.ndarray:
    """Voxel → world affine of a grid of `shape` with voxel size `spacing_mm`, its centre
    voxel ((n − 1) / 2) at `centre_world`, axes along `rotation`'s columns (default RAS)."""
    R = np.eye(3) if rotation is None else np.asarray(rotation, float)
    A = np.eye(4)
    A[:3, :3] = R @ np.diag(np.broadcast_to(np.asarray(spacing_mm, float), (3,)))
    A[:3, 3] = np.asarray(centre_world, float) - A[:3, :3] @ ((np.asarray(shape, float) - 1) / 2)
    return A


def rotation_matrix(angles_rad) -> np.ndarray:
    ax, ay, az = angles_rad
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def random_linear(rng: np.random.Generator, max_rotation_deg: float, scale_range: tuple[float, float],
                  max_shear: float) -> np.ndarray:
    """M = R · S · H: rotation up to ±max_rotation_deg about each axis, per-axis scaling,
    shear up to ±max_shear."""
    R = rotation_matrix(np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg, 3)))
    S = np.diag(rng.uniform(*scale_range, 3))
    H = np.eye(3)
    H[np.triu_indices(3, 1)] = rng.uniform(-max_shear, max_shear, 3)
    return R @ S @ H


def world_points(shape, affine: np.ndarray) -> np.ndarray:
    """(X, Y, Z, 3) float32 world positions of all voxels of a grid."""
    ii = [np.arange(n, dtype=np.float32) for n in shape]
    g = np.stack(np.meshgrid(*ii, indexing='ij'), -1)
    return (g @ affine[:3, :3].T.astype(np.float32) + affine[:3, 3].astype(np.float32)).astype(np.float32)


def displacement_field(shape, spacing_mm, rng: np.random.Generator, std_mm: float,
                       control_spacing_mm: float = 32.0) -> np.ndarray:
    """(X, Y, Z, 3) smooth displacement in mm: N(0, std_mm) on a control grid every
    ~control_spacing_mm along the grid's longest extent (at least 3 points), cubic upsampling.
    `spacing_mm`: one voxel size or one per axis."""
    if std_mm <= 0:
        return np.zeros(tuple(shape) + (3,), np.float32)
    extent = float(np.max(np.asarray(shape) * np.asarray(spacing_mm, float)))
    control = max(3, int(round(extent / control_spacing_mm)))
    return np.stack([smooth_field(tuple(shape), rng, control, std_mm) for _ in range(3)], -1)


def sample_labels(lm: LabelMap, points_world: np.ndarray) -> np.ndarray:
    """Nearest-neighbour lookup of the compact label index at world points; outside → air."""
    inv = np.linalg.inv(lm.affine).astype(np.float32)
    v = points_world @ inv[:3, :3].T + inv[:3, 3]
    ijk = np.rint(v).astype(np.int32)
    shape = np.array(lm.index.shape)
    inside = np.all((ijk >= 0) & (ijk < shape), axis=-1)
    np.clip(ijk, 0, shape - 1, out=ijk)
    out = lm.index[ijk[..., 0], ijk[..., 1], ijk[..., 2]]
    bg = np.uint8(np.flatnonzero(lm.codes == 0)[0])
    out[~inside] = bg
    return out
