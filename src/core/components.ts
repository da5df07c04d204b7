/**
 * Connected components on label volumes.
 *
 * We use 26-connectivity (faces, edges and corners): it is what MONAI's
 * `KeepLargestConnectedComponent` uses by default (full connectivity) and what NiiVue's
 * `bwlabel` does with conn = 26, and a thin structure such as the hippocampal tail,
 * one or two voxels wide, stays one component where its voxels touch only diagonally
 * (6-connectivity would split it and then delete the smaller pieces).
 */
import type { Dims3 } from './volume';

export type Connectivity = 6 | 18 | 26;

/** Neighbour offsets (di, dj, dk) for a connectivity. */
function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const order = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (order === 0) continue;
        if (connectivity === 6 && order > 1) continue;
        if (connectivity === 18 && order > 2) continue;
        out.push([di, dj, dk]);
      }
  return out;
}

/** Component labelling result: an id per voxel (0 = background) and each id's label value and size. */
export interface Components {
  /** Component id per voxel, 1-based; 0 where the label is 0. */
  readonly ids: Int32Array;
  /** `value[id − 1]`: the label value of component `id`. */
  readonly value: number[];
  /** `size[id − 1]`: voxel count of component `id`. */
  readonly size: number[];
}

/**
 * Labels connected components of equal nonzero value (voxels of different labels never
 * join). Ids follow memory order of each component's first voxel (i fastest).
 */
export function connectedComponents(labels: ArrayLike<number>, dims: Dims3, connectivity: Connectivity = 26): Components {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const ids = new Int32Array(n);
  const queue = new Int32Array(n);
  const offsets = neighbourOffsets(connectivity);
  const value: number[] = [];
  const size: number[] = [];
  for (let seed = 0; seed < n; seed++) {
    const v = labels[seed];
    if (v === 0 || ids[seed] !== 0) continue;
    const id = value.length + 1;
    ids[seed] = id;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    while (head < tail) {
      const p = queue[head++];
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / (nx * ny));
      for (const [di, dj, dk] of offsets) {
        const x = i + di;
        const y = j + dj;
        const z = k + dk;
        if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
        const q = x + nx * (y + ny * z);
        if (ids[q] === 0 && labels[q] === v) {
          ids[q] = id;
          queue[tail++] = q;
        }
      }
    }
    value.push(v);
    size.push(tail);
  }
  return { ids, value, size };
}

/**
 * Keeps, for every nonzero label value, only its largest connected component; other
 * voxels of that label become 0. Ties keep the component found first in memory order.
 */
export function keepLargestComponentPerLabel(labels: Uint8Array, dims: Dims3, connectivity: Connectivity = 26): Uint8Array {
  const { ids, value, size } = connectedComponents(labels, dims, connectivity);
  const largest = new Map<number, number>();
  for (let c = 0; c < value.length; c++) {
    const best = largest.get(value[c]);
    if (best === undefined || size[c] > size[best]) largest.set(value[c], c);
  }
  const keep = new Uint8Array(value.length + 1);
  for (const c of largest.values()) keep[c + 1] = 1;
  const out = new Uint8Array(labels.length);
  for (let p = 0; p < labels.length; p++) if (keep[ids[p]]) out[p] = labels[p];
  return out;
}
