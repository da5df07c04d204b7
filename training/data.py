"""MSD hippocampus crops: loading, normalisation, training augmentation, sliding window.

Array convention: a crop is a numpy array [D, H, W] = voxel axes (i, j, k) of the NIfTI,
exactly nibabel's `get_fdata()` order; model tensors are [B, 1, D, H, W] (MONAI's).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np
import torch

NUM_CLASSES = 3  # 0 background, 1 head, 2 body + tail
# Sliding-window defaults of MONAI's sliding_window_inference; for MSD crops and a 32x64x32
# window they give 2 x 1 x 2 windows for a typical 35x50x36 crop.
WINDOW_OVERLAP = 0.25
# Intensity augmentation of peft-methods.md section 1.2 (per index along array axis 1).
SHIFT_SCALE_RANGE = (0.9, 1.1)
SHIFT_OFFSET_RANGE = (-0.1, 0.1)
FLIP_PROBABILITY = 0.5


def default_data_dir() -> Path:
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("SEAHORSE_SHARED", repo.parent / "shared"))
    return Path(os.environ.get("SEAHORSE_DATA", shared / "data")) / "msd_hippocampus"


@dataclass
class Case:
    name: str
    image: np.ndarray  # float32 [D, H, W], z-scored
    label: np.ndarray  # uint8 [D, H, W]
    spacing: tuple[float, float, float]


def zscore_all(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over all voxels, ddof 0 (manifest: zscore over 'all')."""
    x = x.astype(np.float64)
    std = x.std()
    return ((x - x.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def load_case(data_dir: Path, name: str) -> Case:
    img = nib.load(str(data_dir / "images" / name))
    lab = nib.load(str(data_dir / "labels" / name))
    image = np.asarray(img.dataobj, dtype=np.float32)
    label = np.asarray(lab.dataobj).astype(np.uint8)
    if image.ndim != 3 or image.shape != label.shape:
        raise ValueError(f"{name}: image {image.shape} and label {label.shape} must be equal 3-D shapes")
    spacing = tuple(float(s) for s in img.header.get_zooms()[:3])
    return Case(name, zscore_all(image), label, spacing)  # type: ignore[arg-type]


def load_split(data_dir: Path, split: str, split_file: Path | None = None) -> list[str]:
    names = json.loads((split_file or data_dir / "split.json").read_text())[split]
    if split == "fewshot_pool":
        raise ValueError("the few-shot pool is reserved for fine-tuning experiments")
    return list(names)


def random_patch(image: np.ndarray, label: np.ndarray, patch: tuple[int, int, int],
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random crop to `patch`; axes shorter than the patch are zero-padded at a random offset."""
    img, lab = image, label
    pads, starts = [], []
    for size, p in zip(img.shape, patch):
        if size < p:
            before = int(rng.integers(0, p - size + 1))
            pads.append((before, p - size - before))
            starts.append(0)
        else:
            pads.append((0, 0))
            starts.append(int(rng.integers(0, size - p + 1)))
    img = np.pad(img, pads)
    lab = np.pad(lab, pads)
    sl = tuple(slice(s, s + p) for s, p in zip(starts, patch))
    return img[sl], lab[sl]


def augment(image: np.ndarray, label: np.ndarray, patch: tuple[int, int, int],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """peft-methods.md 1.2: random crop, flip each axis with p 0.5, per-slice scale/shift."""
    img, lab = random_patch(image, label, patch, rng)
    for axis in range(3):
        if rng.random() < FLIP_PROBABILITY:
            img, lab = np.flip(img, axis), np.flip(lab, axis)
    h = img.shape[1]
    scale = rng.uniform(*SHIFT_SCALE_RANGE, size=(1, h, 1))
    shift = rng.uniform(*SHIFT_OFFSET_RANGE, size=(1, h, 1))
    img = img * scale + shift
    return np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(lab)


def window_starts(size: int, window: int, overlap: float = WINDOW_OVERLAP) -> list[int]:
    """MONAI's scan: interval window*(1-overlap), last window flush with the end."""
    if size <= window:
        return [0]
    interval = max(int(window * (1 - overlap)), 1)
    count = math.ceil((size - window) / interval) + 1
    return sorted({min(i * interval, size - window) for i in range(count)})


def sliding_window_probs(image: np.ndarray, window: tuple[int, int, int],
                         predict: Callable[[torch.Tensor], torch.Tensor],
                         overlap: float = WINDOW_OVERLAP) -> np.ndarray:
    """Softmax probabilities [C, D, H, W] over the crop: axes shorter than the window are
    zero-padded symmetrically (MONAI: before = diff // 2), windows averaged uniformly."""
    pads = [((w - s) // 2, w - s - (w - s) // 2) if s < w else (0, 0) for s, w in zip(image.shape, window)]
    padded = np.pad(image, pads)
    acc = np.zeros((NUM_CLASSES, *padded.shape), dtype=np.float64)
    count = np.zeros(padded.shape, dtype=np.float64)
    starts = [window_starts(s, w, overlap) for s, w in zip(padded.shape, window)]
    slices = [(slice(a, a + window[0]), slice(b, b + window[1]), slice(c, c + window[2]))
              for a in starts[0] for b in starts[1] for c in starts[2]]
    # All windows of a crop in one batch (at most 2 x 1 x 2 for MSD crops).
    x = torch.from_numpy(np.stack([padded[sl] for sl in slices]))[:, None]
    probs = torch.softmax(predict(x).double(), dim=1).numpy()
    for p, sl in zip(probs, slices):
        acc[(slice(None), *sl)] += p
        count[sl] += 1
    probs = acc / count
    crop = tuple(slice(p[0], p[0] + s) for p, s in zip(pads, image.shape))
    return probs[(slice(None), *crop)].astype(np.float32)
