"""SynthSeg-style synthesis of a T1-like scan from a label map, with the perturbations real
scans come with (skull-stripping, defacing, field-of-view crop, FreeSurfer-normalised look,
bias, noise, resolution, rescaling). One entry point, `synthesise`; two presets,
`HEAD` (whole heads at 4 mm for the localiser) and `CROP` (1 mm hippocampus boxes).

Everything is a pure function of (label map, config, numpy Generator): the same seed gives
the same sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from . import geometry as geo
from . import intensity as inten
from .labels import LabelMap, Priors, group_masks


@dataclass(frozen=True)
class SynthConfig:
    # --- spatial ---
    max_rotation_deg: float = 15.0          # head pose / oblique acquisitions
    scale_range: tuple[float, float] = (0.88, 1.12)
    max_shear: float = 0.04
    deform_std_mm: float = 3.0              # smooth displacement std (control points every 32 mm)
    # --- intensity ---
    p_agnostic: float = 0.3                 # SynthSeg random contrast, else T1-like
    acq_res_range: tuple[float, float] = (0.8, 1.6)   # in-plane / isotropic voxel size, mm
    p_thick_slices: float = 0.3             # one axis gets slice thickness ...
    thick_range: tuple[float, float] = (2.0, 5.0)     # ... in this range, mm
    bias_strength: float = 0.35             # std of log bias field (SynthSeg 0.5)
    noise_range: tuple[float, float] = (0.0, 6.0)     # Rician sigma, in units where WM ≈ 110
    gamma_std: float = 0.25                 # SynthSeg's gamma augmentation
    # --- "as they come" perturbations (probabilities) ---
    p_skull_strip: float = 0.3
    strip_margin_mm: tuple[float, float] = (-2.0, 4.0)  # brain mask eroded (<0) / dilated (>0)
    p_deface: float = 0.3
    p_fov_crop: float = 0.5
    fov_mm: tuple[tuple[float, float], ...] = ((140, 260), (160, 260), (130, 260))  # per grid axis
    fov_centre_offset_mm: tuple[tuple[float, float], ...] = ((-10, 10), (-15, 15), (-45, 15))
    p_freesurfer_look: float = 0.2          # WM → 110, uint8 range (T1.mgz / norm.mgz)
    rescale_log10_range: tuple[float, float] = (-1.0, 3.0)  # final global scale 10^U(a, b)


HEAD = SynthConfig()
CROP = replace(HEAD, max_rotation_deg=12.0, p_skull_strip=0.2, p_deface=0.0, p_fov_crop=0.0,
               p_freesurfer_look=0.25, deform_std_mm=2.0)


@dataclass
class Sample:
    image: np.ndarray          # (X, Y, Z) float32 on the output grid
    labels: np.ndarray         # (X, Y, Z) int32 FreeSurfer codes on the output grid (nearest)
    affine: np.ndarray         # (4, 4) voxel → world of the output grid
    fractions: dict[str, np.ndarray] | None  # supersampled partial-volume fractions per group
    info: dict = field(default_factory=dict)  # what was drawn (for logs and checks)


def _brain_extent_along(lm: LabelMap, brain_lut: np.ndarray, normal_subject: np.ndarray) -> tuple[float, np.ndarray]:
    """max over brain voxels of n·y (world mm), and the brain centroid; on every 3rd voxel."""
    sub = lm.index[::3, ::3, ::3]
    ijk = np.argwhere(brain_lut[sub]).astype(np.float64) * 3
    y = ijk @ lm.affine[:3, :3].T + lm.affine[:3, 3]
    return float((y @ normal_subject).max()), y.mean(0)


def synthesise(lm: LabelMap, priors: Priors, out_shape, out_spacing_mm, centre_world,
               rng: np.random.Generator, cfg: SynthConfig = HEAD, supersample: int = 1,
               fraction_groups: tuple[str, ...] = ()) -> Sample:
    """Synthesise one scan on an output grid of `out_shape` voxels at `out_spacing_mm`
    (one size, or one per grid axis for anisotropic voxels; axis-aligned, world = the label
    map's world up to the random transform), centred on
    `centre_world` (mm, in the label map's world, e.g. a hippocampus centroid for crops).

    `supersample` > 1 synthesises on a grid that many times finer and block-averages down
    (partial volume at coarse outputs; 2 for the 4 mm localiser). `fraction_groups` (names
    from `labels.group_masks`) returns each group's voxel fraction on the output grid.
    """
    out_shape = tuple(int(n) for n in out_shape)
    s = int(supersample)
    fine_shape = tuple(n * s for n in out_shape)
    fine_spacing = np.broadcast_to(np.asarray(out_spacing_mm, float), (3,)) / s
    centre = np.asarray(centre_world, float)
    info: dict = {}

    # Field of view: a box in the grid frame, its centre the scan's grid centre.
    fov_lo = fov_hi = None
    if rng.random() < cfg.p_fov_crop:
        ext = np.array([rng.uniform(*r) for r in cfg.fov_mm])
        off = np.array([rng.uniform(*r) for r in cfg.fov_centre_offset_mm])
        centre = centre + off
        fov_lo, fov_hi = -ext / 2, ext / 2
        info['fov_mm'] = ext.round(1).tolist()

    A_fine = geo.grid_affine(fine_shape, fine_spacing, centre)
    x = geo.world_points(fine_shape, A_fine)
    M = geo.random_linear(rng, cfg.max_rotation_deg, cfg.scale_range, cfg.max_shear)
    d = geo.displacement_field(fine_shape, fine_spacing, rng, cfg.deform_std_mm)
    y = (x - centre.astype(np.float32)) @ M.T.astype(np.float32) + centre.astype(np.float32) + d
    del d
    index = geo.sample_labels(lm, y)
    codes = lm.codes
    groups = group_masks(codes)

    # Intensities: GMM per class, resolution blur, bias, noise.
    mode = 'agnostic' if rng.random() < cfg.p_agnostic else 't1'
    means, stds = inten.sample_class_intensities(codes, priors.classes, rng, mode)
    img = inten.gmm_image(index, means, stds, rng)
    res = np.full(3, rng.uniform(*cfg.acq_res_range))
    if rng.random() < cfg.p_thick_slices:
        res[rng.integers(3)] = rng.uniform(*cfg.thick_range)
    img = inten.resolution_blur(img, fine_spacing, res)
    img *= inten.bias_field(fine_shape, rng, cfg.bias_strength)
    noise_sigma = rng.uniform(*cfg.noise_range)
    img = inten.rician_noise(img, noise_sigma, rng)
    info.update(mode=mode, acq_res_mm=res.round(2).tolist(), linear=M.round(4).tolist(), noise_sigma=round(noise_sigma, 2))

    # "As they come": skull-stripping, defacing, field of view (zero outside).
    keep = np.ones(fine_shape, bool)
    strip = rng.random() < cfg.p_skull_strip
    if strip:
        margin = rng.uniform(*cfg.strip_margin_mm)
        brain = groups['brain'][index].astype(np.float32)
        # Smooth-and-threshold: a mask dilated (threshold < 0.5) or eroded (> 0.5) by ~margin.
        sigma = 2.0 / fine_spacing
        soft = ndimage.gaussian_filter(brain, sigma)
        thr = float(np.clip(0.5 - margin / (2.5 * 2.0), 0.05, 0.95))
        keep &= soft > thr
        info['skull_strip_margin_mm'] = round(margin, 2)
    if not strip and rng.random() < cfg.p_deface:
        theta = np.deg2rad(rng.uniform(25, 65))
        n = np.array([0.0, np.cos(theta), -np.sin(theta)])       # anterior-inferior (subject RAS)
        ext, _ = _brain_extent_along(lm, groups['brain'], n)
        level = ext + rng.uniform(0, 12)
        face = (y @ n.astype(np.float32)) > level
        keep &= ~(face & ~groups['brain'][index])
        info['deface_deg'] = round(float(np.rad2deg(theta)), 1)
    if fov_lo is not None:
        rel = x - centre.astype(np.float32)
        keep &= np.all((rel >= fov_lo) & (rel <= fov_hi), axis=-1)
    img *= keep

    # Scaling: FreeSurfer look (WM 110) or gamma + a global rescale.
    if rng.random() < cfg.p_freesurfer_look and mode == 't1':
        img = inten.freesurfer_scale(img, groups['cerebral_wm'][index] & keep)
        info['freesurfer_look'] = True
    else:
        img = inten.gamma_rescale(img, rng, cfg.gamma_std) * np.float32(10 ** rng.uniform(*cfg.rescale_log10_range))
        img *= keep  # gamma keeps 0 at 0 only where the minimum was 0

    fractions = None
    if s > 1:
        img = _block_mean(img, s)
        if fraction_groups:
            fractions = {g: _block_mean(groups[g][index].astype(np.float32), s) for g in fraction_groups}
        lab = codes[index[s // 2::s, s // 2::s, s // 2::s]]
    else:
        if fraction_groups:
            fractions = {g: groups[g][index].astype(np.float32) for g in fraction_groups}
        lab = codes[index]
    A_out = geo.grid_affine(out_shape, out_spacing_mm, centre)
    return Sample(image=img.astype(np.float32), labels=lab.astype(np.int32), affine=A_out,
                  fractions=fractions, info=info)


def _block_mean(a: np.ndarray, s: int) -> np.ndarray:
    X, Y, Z = (n // s for n in a.shape)
    return a[:X * s, :Y * s, :Z * s].reshape(X, s, Y, s, Z, s).mean(axis=(1, 3, 5), dtype=np.float32)
