import { multiply } from '../affine';
import { maskOf } from '../metrics';
import { blockAverage } from '../registration/levels';
import type { LabelVolume, Volume } from '../volume';
import { mat4 } from '../volume';

/**
 * How the shipped templates (`models/templates/`) are derived from Debian's
 * `mricron-data` files (Colin27 `ch2`, its brain-extracted `ch2bet`, and AAL), so that
 * the derivation is code, tested against the sources, and reproducible with
 * `npx tsx scripts/make-templates.ts`.
 */

/** AAL labels of the hippocampi (aal.nii.txt: 37 Hippocampus_L, 38 Hippocampus_R). */
export const AAL_HIPPOCAMPUS_LEFT = 37;
export const AAL_HIPPOCAMPUS_RIGHT = 38;
/** Our labels, as in every Seahorse mask: 1 left, 2 right. */
export const LEFT = 1;
export const RIGHT = 2;

/** The registration template's voxel size; the pyramid's finest level. */
export const TEMPLATE_MM = 2;
/** Brain fraction is stored as 0…255 in uint8. */
export const FRACTION_SCALE = 255;
/** Voxels of background kept around the hippocampus labels' bounding box. */
const HIPPOCAMPUS_PAD = 2;

/** round(v × scale) of each value, as bytes (a plain loop: `Uint8Array.from` with a function is ~30× slower in V8). */
function roundedBytes(values: ArrayLike<number>, scale: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let p = 0; p < values.length; p++) out[p] = Math.round(values[p] * scale);
  return out;
}

/** ch2 averaged over 2×2×2 blocks (rounded to uint8, as the source). */
export function templateT1(ch2: Volume): Volume<Uint8Array> {
  const level = blockAverage(ch2, [TEMPLATE_MM, TEMPLATE_MM, TEMPLATE_MM], TEMPLATE_MM);
  const data = roundedBytes(level.data, 1);
  return { dims: level.dims, affine: level.affine, spacing: [TEMPLATE_MM, TEMPLATE_MM, TEMPLATE_MM], data };
}

/** Fraction of each 2 mm block inside ch2bet's brain (non-zero voxels), × 255. */
export function templateBrain(ch2bet: Volume): Volume<Uint8Array> {
  const inside = maskOf(ch2bet.data, 'foreground');
  const level = blockAverage({ ...ch2bet, data: inside }, [TEMPLATE_MM, TEMPLATE_MM, TEMPLATE_MM], TEMPLATE_MM);
  const data = roundedBytes(level.data, FRACTION_SCALE);
  return { dims: level.dims, affine: level.affine, spacing: [TEMPLATE_MM, TEMPLATE_MM, TEMPLATE_MM], data };
}

/**
 * AAL's hippocampi at 1 mm, relabelled 1 left / 2 right, cropped to their bounding box
 * plus a small margin (the affine gains the crop's offset, so world positions are kept).
 */
export function templateHippocampus(aal: Volume): LabelVolume {
  const [nx, ny, nz] = aal.dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = aal.data[i + nx * (j + ny * k)];
        if (v !== AAL_HIPPOCAMPUS_LEFT && v !== AAL_HIPPOCAMPUS_RIGHT) continue;
        const ijk = [i, j, k];
        for (let a = 0; a < 3; a++) {
          lo[a] = Math.min(lo[a], ijk[a]);
          hi[a] = Math.max(hi[a], ijk[a]);
        }
      }
    }
  }
  if (hi[0] < 0) throw new Error('the atlas has no hippocampus labels (AAL 37/38)');
  for (let a = 0; a < 3; a++) {
    lo[a] = Math.max(0, lo[a] - HIPPOCAMPUS_PAD);
    hi[a] = Math.min(aal.dims[a] - 1, hi[a] + HIPPOCAMPUS_PAD);
  }
  const dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] as const;
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  let n = 0;
  for (let k = lo[2]; k <= hi[2]; k++) {
    for (let j = lo[1]; j <= hi[1]; j++) {
      for (let i = lo[0]; i <= hi[0]; i++) {
        const v = aal.data[i + nx * (j + ny * k)];
        data[n++] = v === AAL_HIPPOCAMPUS_LEFT ? LEFT : v === AAL_HIPPOCAMPUS_RIGHT ? RIGHT : 0;
      }
    }
  }
  const shift = mat4([1, 0, 0, lo[0], 0, 1, 0, lo[1], 0, 0, 1, lo[2], 0, 0, 0, 1]);
  return { dims, affine: multiply(aal.affine, shift), spacing: aal.spacing, data };
}
