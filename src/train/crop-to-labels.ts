/**
 * Cuts a labelled scan down to the box around its labelled voxels plus a margin, as the MSD
 * crops were cut: the few-shot benchmark and the studio's comparison train and score crop
 * models, which cannot learn from a full-head scan where the hippocampus is a few thousandths
 * of the voxels. The box comes from the reference labels, so scores on such crops measure
 * segmentation within a located region (like MSD's), not localisation.
 */
import type { LabelVolume, Volume } from '../core/volume';
import { mat4 } from '../core/volume';

export interface LabelledPair {
  readonly image: Volume;
  readonly labels: LabelVolume;
}

/** The pair cropped to the labels' bounding box grown by `marginVoxels` on each side (clipped to the grid). */
export function cropToLabels<T extends LabelledPair>(pair: T, marginVoxels: number, id: string): T {
  const { image, labels } = pair;
  const [ni, nj, nk] = labels.dims;
  if (image.dims.some((d, a) => d !== labels.dims[a])) throw new Error(`${id}: the labels (${labels.dims.join('×')}) are not on the scan's grid (${image.dims.join('×')})`);
  const lo = [ni, nj, nk];
  const hi = [-1, -1, -1];
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        if (labels.data[i + ni * (j + nj * k)] === 0) continue;
        const v = [i, j, k];
        for (let a = 0; a < 3; a++) {
          lo[a] = Math.min(lo[a], v[a]);
          hi[a] = Math.max(hi[a], v[a]);
        }
      }
    }
  }
  if (hi[0] < 0) throw new Error(`${id}: no labelled voxel after the label map; nothing to train on or score`);
  const start = lo.map((x) => Math.max(0, x - marginVoxels));
  const end = hi.map((x, a) => Math.min(labels.dims[a] - 1, x + marginVoxels));
  const dims = [end[0] - start[0] + 1, end[1] - start[1] + 1, end[2] - start[2] + 1] as const;
  // New origin: the world position of voxel `start` (affine row-major, translation in column 3).
  const A = labels.affine;
  const affine = mat4(A);
  for (let r = 0; r < 3; r++) affine[4 * r + 3] = A[4 * r + 3] + A[4 * r] * start[0] + A[4 * r + 1] * start[1] + A[4 * r + 2] * start[2];
  const cut = <V extends Volume>(v: V): V => {
    const data = new (v.data.constructor as new (n: number) => V['data'])(dims[0] * dims[1] * dims[2]);
    for (let k = 0; k < dims[2]; k++) {
      for (let j = 0; j < dims[1]; j++) {
        const src = start[0] + ni * (start[1] + j + nj * (start[2] + k));
        data.set(v.data.subarray(src, src + dims[0]) as never, dims[0] * (j + dims[1] * k));
      }
    }
    return { ...v, dims, affine, data };
  };
  return { ...pair, image: cut(image), labels: cut(labels) };
}
