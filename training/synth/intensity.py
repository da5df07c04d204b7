"""Intensity models: per-class Gaussian mixture (SynthSeg), partial-volume / resolution blur,
bias field, noise, gamma, rescaling. Pure functions of their inputs and a numpy Generator.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from .labels import EXTRA_CEREBRAL_MIN

# T1-like class means on FreeSurfer's normalised scale (white matter 110, as in T1.mgz /
# norm.mgz), as (low, high) ranges from which each scan draws its class mean. Ours, set from
# FreeSurfer's intensity normalisation target (WM 110) and the usual T1 ordering
# (WM > pallidum ≈ brainstem > thalamus > putamen > caudate ≈ GM > CSF); the ranges are wide
# on purpose (domain randomisation). `generation_priors_t1.json`'s 2 × 25 priors are indexed
# by SynthSeg's contrast-specific class grouping, which is not among the shared files, so they
# are not used.
T1_MEAN_RANGES: dict[int, tuple[float, float]] = {
    0: (0, 8),                       # background (air)
    2: (100, 120), 41: (100, 120),   # cerebral WM
    3: (60, 85), 42: (60, 85),       # cerebral cortex
    4: (15, 45), 43: (15, 45),       # lateral ventricles
    5: (15, 50), 44: (15, 50),       # inferior lateral ventricles
    7: (90, 115), 46: (90, 115),     # cerebellar WM
    8: (60, 85), 47: (60, 85),       # cerebellar cortex
    10: (80, 100), 49: (80, 100),    # thalamus
    11: (65, 90), 50: (65, 90),      # caudate
    12: (72, 95), 51: (72, 95),      # putamen
    13: (85, 108), 52: (85, 108),    # pallidum
    14: (15, 45), 15: (15, 45), 72: (15, 45), 24: (15, 45),  # 3rd/4th/5th ventricle, CSF
    16: (85, 110),                   # brainstem
    17: (60, 85), 53: (60, 85),      # hippocampus
    18: (60, 88), 54: (60, 88),      # amygdala
    25: (40, 110), 57: (40, 110),    # lesions (FreeSurfer LUT): anything
    26: (65, 90), 58: (65, 90),      # accumbens
    28: (85, 108), 60: (85, 108),    # ventral DC
    30: (40, 100), 62: (40, 100),    # vessel
    85: (85, 115),                   # optic chiasm
}
# Codes not listed (136/137, 163/164 and the extra-cerebral 5xx tissues: skull, scalp, fat,
# muscle, eyes, …) draw from this broad range: in T1 they span dark bone to bright fat.
T1_DEFAULT_RANGE = (5.0, 150.0)
T1_STD_RANGE = (1.0, 10.0)          # within-class spread (tissue texture)
# SynthSeg's contrast-agnostic defaults: class means U(25, 225), stds U(5, 25).
AGNOSTIC_MEAN_RANGE = (25.0, 225.0)
AGNOSTIC_STD_RANGE = (5.0, 25.0)


def sample_class_intensities(codes: np.ndarray, classes: np.ndarray, rng: np.random.Generator,
                             mode: str = 't1') -> tuple[np.ndarray, np.ndarray]:
    """Per-code mean and std (arrays indexed like `codes`); codes of one generation class
    share them (left/right alike). `mode`: 't1' (T1-like ordering) or 'agnostic'
    (SynthSeg's random contrast)."""
    n_cls = int(classes.max()) + 1
    means = np.empty(n_cls)
    stds = np.empty(n_cls)
    for c in range(n_cls):
        members = codes[classes == c]
        if mode == 'agnostic':
            means[c] = rng.uniform(*AGNOSTIC_MEAN_RANGE)
            stds[c] = rng.uniform(*AGNOSTIC_STD_RANGE)
        elif mode == 't1':
            lo, hi = T1_MEAN_RANGES.get(int(members[0]), T1_DEFAULT_RANGE) if len(members) else T1_DEFAULT_RANGE
            means[c] = rng.uniform(lo, hi)
            stds[c] = rng.uniform(*T1_STD_RANGE)
        else:
            raise ValueError(f'unknown intensity mode {mode!r}')
    if mode == 'agnostic':
        means[classes[codes == 0]] = rng.uniform(0, 10)  # air stays dark: a scan's zero level
    return means[classes].astype(np.float32), stds[classes].astype(np.float32)


def gmm_image(index: np.ndarray, means: np.ndarray, stds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SynthSeg's GMM draw: each voxel ~ N(mean[label], std[label])."""
    img = means[index] + stds[index] * rng.standard_normal(index.shape, dtype=np.float32)
    return np.maximum(img, 0, out=img)


def resolution_blur(img: np.ndarray, spacing_mm: np.ndarray, acq_res_mm: np.ndarray) -> np.ndarray:
    """Blur to an acquisition resolution (per axis, mm) on a grid of `spacing_mm`; sigma
    follows SynthSeg (FWHM ≈ the slice thickness: σ = 0.75 · res / spacing where res >
    spacing), then, where the acquisition is much coarser than the grid, resample down to
    the acquisition grid and back (linear), which gives thick slices their staircase."""
    ratio = np.asarray(acq_res_mm, float) / np.asarray(spacing_mm, float)
    sigma = np.where(ratio > 1, 0.75 * ratio, 0.0)
    out = ndimage.gaussian_filter(img, sigma, mode='nearest') if np.any(sigma > 0) else img
    if np.any(ratio > 1.5):
        t = torch.from_numpy(np.ascontiguousarray(out, np.float32))[None, None]
        small = tuple(max(1, int(round(n / max(r, 1.0)))) for n, r in zip(img.shape, ratio))
        down = torch.nn.functional.interpolate(t, size=small, mode='trilinear', align_corners=False)
        out = torch.nn.functional.interpolate(down, size=img.shape, mode='trilinear', align_corners=False)[0, 0].numpy()
    return out.astype(np.float32, copy=False)


def smooth_field(shape: tuple[int, ...], rng: np.random.Generator, control: int, std: float) -> np.ndarray:
    """A smooth random field: N(0, std) on a control grid, upsampled cubically to at most
    24 points per axis, then trilinearly (torch; scipy's zoom of a full grid took ~1.5 s)."""
    ctrl = rng.standard_normal((control,) * len(shape)) * std
    mid = tuple(min(int(s), 24) for s in shape)
    mid_field = ndimage.zoom(ctrl, np.array(mid) / control, order=3, mode='nearest', grid_mode=True)
    t = torch.from_numpy(np.ascontiguousarray(mid_field, np.float32))[None, None]
    up = torch.nn.functional.interpolate(t, size=tuple(int(s) for s in shape), mode='trilinear', align_corners=False)
    return up[0, 0].numpy()


def bias_field(shape: tuple[int, int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Multiplicative bias exp(smooth field); `strength` is the log-field's std (SynthSeg 0.5)."""
    return np.exp(smooth_field(shape, rng, 4, strength))


def rician_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude-image noise: |img + n1 + i n2| (background gets Rayleigh noise, as in MRI)."""
    if sigma <= 0:
        return img
    n1 = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    n2 = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    return np.sqrt((img + n1) ** 2 + n2 ** 2).astype(np.float32)


def gamma_rescale(img: np.ndarray, rng: np.random.Generator, gamma_std: float) -> np.ndarray:
    """Min–max to [0, 1], then x^exp(N(0, gamma_std)) (SynthSeg's gamma augmentation)."""
    lo, hi = float(img.min()), float(img.max())
    x = (img - lo) / max(hi - lo, 1e-6)
    return np.power(x, np.float32(np.exp(rng.normal(0, gamma_std))), dtype=np.float32)


def freesurfer_scale(img: np.ndarray, wm_mask: np.ndarray) -> np.ndarray:
    """FreeSurfer-normalised look (T1.mgz / norm.mgz): white matter median → 110, uint8 range."""
    wm = img[wm_mask]
    scale = 110.0 / max(float(np.median(wm)), 1e-6) if wm.size else 1.0
    return np.clip(np.rint(img * scale), 0, 255).astype(np.float32)


def is_extra_cerebral(codes: np.ndarray) -> np.ndarray:
    return codes >= EXTRA_CEREBRAL_MIN
