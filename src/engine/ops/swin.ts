/**
 * Swin building blocks as compositions of general ops (reshape, permute, strided slices,
 * concat, pad), plus host-side constants (relative-position index, shifted-window mask)
 * computed exactly as MONAI's SwinUNETR (v1) does.
 */
import { ShapeError } from '../errors';
import type { Tensor } from '../tensor';
import { reshapeRaw } from './reduce';
import { concat, pad, permute, slice } from './shape';

type Triple = readonly [number, number, number];

/** [B, D, H, W, C] → [B·nWindows, w0·w1·w2, C] (MONAI window_partition; dims divisible by the window). */
export function windowPartition(x: Tensor, window: Triple): Tensor {
  const [B, D, H, W, C] = x.shape;
  if (x.rank !== 5 || D % window[0] || H % window[1] || W % window[2]) {
    throw new ShapeError(`windowPartition: ${x.describe()} must be [B, D, H, W, C] with D, H, W divisible by window [${window}]`);
  }
  const v = reshapeRaw(x, [B, D / window[0], window[0], H / window[1], window[1], W / window[2], window[2], C]);
  const p = permute(v, [0, 1, 3, 5, 2, 4, 6, 7]);
  v.dispose();
  const n = window[0] * window[1] * window[2];
  const out = reshapeRaw(p, [(B * D * H * W) / n, n, C]);
  p.dispose();
  return out;
}

/** Inverse of windowPartition: [B·nW, w0·w1·w2, C] → [B, D, H, W, C]. */
export function windowReverse(windows: Tensor, window: Triple, dims: readonly [number, number, number, number]): Tensor {
  const [B, D, H, W] = dims;
  const C = windows.shape[windows.rank - 1];
  const v = reshapeRaw(windows, [B, D / window[0], H / window[1], W / window[2], window[0], window[1], window[2], C]);
  const p = permute(v, [0, 1, 4, 2, 5, 3, 6, 7]);
  v.dispose();
  const out = reshapeRaw(p, [B, D, H, W, C]);
  p.dispose();
  return out;
}

/** PatchMerging slice orders (offsets along D, H, W of x[:, i::2, j::2, k::2, :]). */
export const MERGE_ORDER = {
  /** MONAI ≥ 1.x `PatchMerging` ("merging"): the eight distinct offsets. */
  monai: [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
  /** The legacy order of MONAI ≤ 0.9 / the HyPS repo: x5 duplicates x2 and x6 duplicates x3. */
  legacy: [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 1]],
} as const satisfies Record<string, readonly Triple[]>;

export type MergeOrder = keyof typeof MERGE_ORDER;

/**
 * PatchMerging's gather: [B, D, H, W, C] → [B, ⌈D/2⌉, ⌈H/2⌉, ⌈W/2⌉, 8C], zero-padding odd
 * dims first as MONAI does. The LayerNorm(8C) and Linear(8C→2C) follow in the model.
 */
export function patchMergeGather(x: Tensor, order: MergeOrder): Tensor {
  if (x.rank !== 5) throw new ShapeError(`patchMergeGather: ${x.describe()} must be [B, D, H, W, C]`);
  const odd = [x.shape[1] % 2, x.shape[2] % 2, x.shape[3] % 2];
  const xp = odd.some((o) => o) ? pad(x, [[0, 0], [0, odd[0]], [0, odd[1]], [0, odd[2]], [0, 0]]) : x;
  const parts = MERGE_ORDER[order].map(([i, j, k]) => slice(xp, [null, [i, undefined, 2], [j, undefined, 2], [k, undefined, 2], null]));
  const out = concat(parts, -1);
  for (const p of parts) p.dispose();
  if (xp !== x) xp.dispose();
  return out;
}

/** MONAI's relative_position_index for a 3-D window: [N·N] int32 row-major, N = w0·w1·w2. */
export function relativePositionIndex(window: Triple): Int32Array {
  const [w0, w1, w2] = window;
  const n = w0 * w1 * w2;
  const coords: [number, number, number][] = [];
  for (let d = 0; d < w0; d++) for (let h = 0; h < w1; h++) for (let w = 0; w < w2; w++) coords.push([d, h, w]);
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const rd = coords[i][0] - coords[j][0] + w0 - 1;
      const rh = coords[i][1] - coords[j][1] + w1 - 1;
      const rw = coords[i][2] - coords[j][2] + w2 - 1;
      out[i * n + j] = rd * (2 * w1 - 1) * (2 * w2 - 1) + rh * (2 * w2 - 1) + rw;
    }
  }
  return out;
}

/** The value MONAI puts between tokens of different shifted regions. */
export const SHIFT_MASK_VALUE = -100;

/**
 * MONAI compute_mask: for a padded grid `dims`, window and shift, the additive attention mask
 * [nWindows, N, N] with 0 inside a region and −100 across regions (row-major Float64Array).
 */
export function shiftedWindowMask(dims: Triple, window: Triple, shift: Triple): Float64Array {
  const [D, H, W] = dims;
  const region = (n: number, w: number, s: number) => (i: number) => (i < n - w ? 0 : i < n - s ? 1 : 2);
  const rd = region(D, window[0], shift[0]);
  const rh = region(H, window[1], shift[1]);
  const rw = region(W, window[2], shift[2]);
  const nw = [D / window[0], H / window[1], W / window[2]];
  if (nw.some((v) => !Number.isInteger(v))) throw new ShapeError(`shiftedWindowMask: dims [${dims}] are not divisible by window [${window}]`);
  const N = window[0] * window[1] * window[2];
  const nWin = nw[0] * nw[1] * nw[2];
  const ids = new Int32Array(nWin * N);
  let wi = 0;
  for (let a = 0; a < nw[0]; a++) {
    for (let b = 0; b < nw[1]; b++) {
      for (let c = 0; c < nw[2]; c++, wi++) {
        let t = 0;
        for (let i = 0; i < window[0]; i++) {
          for (let j = 0; j < window[1]; j++) {
            for (let k = 0; k < window[2]; k++, t++) {
              ids[wi * N + t] = rd(a * window[0] + i) * 9 + rh(b * window[1] + j) * 3 + rw(c * window[2] + k);
            }
          }
        }
      }
    }
  }
  const mask = new Float64Array(nWin * N * N);
  for (let w = 0; w < nWin; w++) {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) mask[(w * N + i) * N + j] = ids[w * N + i] === ids[w * N + j] ? 0 : SHIFT_MASK_VALUE;
    }
  }
  return mask;
}
