"""Dice, HD95 and volumes on label volumes (numpy, voxel spacing in mm)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

LABEL_NAMES = {1: "head", 2: "body", "whole": "whole"}
HD_PERCENTILE = 95


def dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|); 1.0 when both are empty."""
    total = int(pred.sum()) + int(ref.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(pred, ref).sum()) / total


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=ndimage.generate_binary_structure(3, 1))


def hd95(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Symmetric 95th-percentile surface distance in mm (max of the two directed P95s,
    as MONAI's compute_hausdorff_distance(percentile=95)); NaN if either mask is empty."""
    if not pred.any() or not ref.any():
        return float("nan")
    sp, sr = _surface(pred), _surface(ref)
    to_ref = ndimage.distance_transform_edt(~sr, sampling=spacing)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=spacing)
    return float(max(np.percentile(to_ref[sp], HD_PERCENTILE), np.percentile(to_pred[sr], HD_PERCENTILE)))


def case_metrics(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float, float]) -> dict:
    voxel_mm3 = float(np.prod(spacing))
    out: dict = {}
    for key, sel in ((1, lambda a: a == 1), (2, lambda a: a == 2), ("whole", lambda a: a > 0)):
        p, r = sel(pred), sel(ref)
        out[LABEL_NAMES[key]] = {
            "dice": dice(p, r),
            "hd95_mm": hd95(p, r, spacing),
            "volume_pred_mm3": float(p.sum()) * voxel_mm3,
            "volume_ref_mm3": float(r.sum()) * voxel_mm3,
        }
    return out


def summarise(per_case: list[dict]) -> dict:
    """Mean of each metric over cases (NaN HD95s skipped), plus mean Dice over head and body."""
    summary: dict = {}
    for part in ("head", "body", "whole"):
        summary[part] = {
            k: float(np.nanmean([c[part][k] for c in per_case])) for k in ("dice", "hd95_mm")
        }
    summary["mean_dice_head_body"] = (summary["head"]["dice"] + summary["body"]["dice"]) / 2
    return summary
