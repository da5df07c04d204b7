/**
 * A shape prior for a structure inside the 3-D box drawn around it.
 *
 * SAM sees one slice at a time, and a 3-D box's rectangle is loose on most of its slices, so
 * its masks spill where the structure is thin or absent. What a box says about anatomy, SAM
 * cannot use: a thalamus fills the middle of its box, a caudate curves along one side. The
 * prior is that knowledge, learned from label maps: for each structure, the fraction of label
 * maps in which a point of the box (in coordinates normalised to 0–1 along each world axis)
 * lies inside the structure, each map's box being the structure's bounding box plus a margin.
 * Its log-odds, weighted, are added to SAM's mean logit in the box (anatomy-scores.ts).
 *
 * The grid runs along RAS+ world axes (x fastest), so a scan in any orientation looks it up
 * through its own voxel axes (`axisOrientation`, nearest axis for an oblique scan).
 */
import { axisOrientation } from '../core/orientation';
import type { Dims3, Mat4 } from '../core/volume';
import { labelBoxes } from './label-boxes';
import { isFusedBox, type VoxelBoxPrompt } from './prompt-volume';

/** The shipped prior's file, in models/sam/ (the studio fetches it from the page's origin). */
export const BOX_PRIOR_FILE = 'box-prior.json';
export const BOX_PRIOR_WEB_PATH = `models/sam/${BOX_PRIOR_FILE}`;

/** The prior's file format name (models/sam/box-prior.json). */
export const BOX_PRIOR_FORMAT = 'seahorse-sam-box-prior';

/** Probabilities are stored as bytes: occupancy × 255, rounded. */
const QUANT = 255;

/**
 * Probabilities are kept inside [PRIOR_FLOOR, 1 − PRIOR_FLOOR] before their log-odds are
 * taken: a point no label map had inside the structure is unlikely, not impossible. It is
 * the floor the weight below was chosen with.
 */
export const PRIOR_FLOOR = 1e-3;

/**
 * The weight of the prior's log-odds against SAM's mean logit: the best of 2, 3 and 4 on the
 * synthetic validation heads (mean Dice of the twelve structures 0.647 / 0.654 / 0.655 with the
 * shipped prior's margins; 0.562 without a prior), 3 for being less sure of the prior than 4.
 * bench/RESULTS.md, "A shape prior and an intensity model in the 3-D box".
 */
export const BOX_PRIOR_WEIGHT = 3;

/** Millimetres along R, A, S. */
export type RasMm = readonly [number, number, number];

/** The smallest and largest box a structure's prior was learned from, per world axis. */
export interface BoxSizeRange {
  readonly minMm: RasMm;
  readonly maxMm: RasMm;
}

/** A structure's occupancy over its box, `grid`³ cells along R, A, S (x fastest), 0–1. */
export interface BoxPrior {
  readonly grid: number;
  /** Margins (voxels) around the bounding box that the training boxes were drawn with. */
  readonly margins: readonly number[];
  /** Occupancy per structure code. */
  readonly structures: ReadonlyMap<number, Float32Array>;
  /** The training boxes' sizes per structure code. */
  readonly sizes: ReadonlyMap<number, BoxSizeRange>;
}

/**
 * How far a box's size may lie outside the training boxes' range, as a factor, before the prior
 * is not applied: a box far smaller or larger than any the prior saw was not drawn around the
 * structure (a box inside it, a box around a whole region), and the prior would fill it wrongly.
 */
export const BOX_SIZE_TOLERANCE = 1.5;

/** What the file records beside the grids: where they came from. */
export interface BoxPriorProvenance {
  readonly description: string;
  readonly source: string;
  readonly licence: string;
  readonly command: string;
}

export interface BoxPriorFile extends BoxPriorProvenance {
  readonly format: typeof BOX_PRIOR_FORMAT;
  readonly version: 1;
  readonly grid: number;
  readonly margins: readonly number[];
  readonly axes: 'RAS, x fastest';
  /** Structure code → base64 of grid³ bytes, occupancy × 255. */
  readonly structures: Readonly<Record<string, string>>;
  /** Structure code → the training boxes' sizes, mm along R, A, S. */
  readonly sizesMm: Readonly<Record<string, BoxSizeRange>>;
}

/** A labelled volume: what the prior is built from. */
export interface LabelMap {
  readonly dims: Dims3;
  readonly affine: Mat4;
  readonly data: ArrayLike<number>;
}

/** Voxel axis of each RAS world axis, and whether the voxel index runs against it. */
function rasAxes(affine: Mat4): { readonly axis: readonly number[]; readonly flip: readonly boolean[] } {
  const o = axisOrientation(affine);
  const axis = [0, 0, 0];
  const flip = [false, false, false];
  for (let a = 0; a < 3; a++) {
    axis[o.worldAxis[a]] = a;
    flip[o.worldAxis[a]] = o.negative[a];
  }
  return { axis, flip };
}

/** A box's size in millimetres along R, A, S (voxel counts × the voxel sizes of the affine's columns). */
export function boxSizeMm(box: { readonly lo: readonly number[]; readonly hi: readonly number[] }, affine: Mat4): RasMm {
  const { axis } = rasAxes(affine);
  const voxelMm = (a: number) => Math.hypot(affine[a], affine[4 + a], affine[8 + a]);
  return [0, 1, 2].map((r) => (box.hi[axis[r]] - box.lo[axis[r]] + 1) * voxelMm(axis[r])) as unknown as RasMm;
}

/**
 * Where cell centre `u` (0–1 along a world axis) of a box lies, as a continuous voxel index
 * along the voxel axis that runs along that world axis.
 */
function voxelCoord(u: number, lo: number, hi: number, flip: boolean): number {
  const size = hi - lo + 1;
  return lo + (flip ? 1 - u : u) * size - 0.5;
}

/** Trilinear sample of a row-major (x fastest) grid at continuous index (x, y, z), clamped to its edges. */
function trilinear(data: ArrayLike<number>, dims: Dims3, x: number, y: number, z: number, at: (i: number) => number): number {
  const c = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
  x = c(x, dims[0]);
  y = c(y, dims[1]);
  z = c(z, dims[2]);
  const x0 = Math.floor(x), y0 = Math.floor(y), z0 = Math.floor(z);
  const x1 = Math.min(x0 + 1, dims[0] - 1), y1 = Math.min(y0 + 1, dims[1] - 1), z1 = Math.min(z0 + 1, dims[2] - 1);
  const fx = x - x0, fy = y - y0, fz = z - z0;
  const v = (i: number, j: number, k: number) => at(data[i + dims[0] * (j + dims[1] * k)]);
  const a = v(x0, y0, z0) * (1 - fx) + v(x1, y0, z0) * fx;
  const b = v(x0, y1, z0) * (1 - fx) + v(x1, y1, z0) * fx;
  const d = v(x0, y0, z1) * (1 - fx) + v(x1, y0, z1) * fx;
  const e = v(x0, y1, z1) * (1 - fx) + v(x1, y1, z1) * fx;
  return (a * (1 - fy) + b * fy) * (1 - fz) + (d * (1 - fy) + e * fy) * fz;
}

/**
 * One label map's occupancy of `code` over its bounding box `bounds` + `margin`, sampled at the
 * centres of a `grid`³ RAS-ordered lattice (trilinear on the 0/1 mask, edges clamped).
 */
export function boxOccupancy(map: LabelMap, code: number, bounds: Pick<VoxelBoxPrompt, 'lo' | 'hi'>, margin: number, grid: number): Float32Array {
  const lo = bounds.lo.map((c) => c - margin);
  const hi = bounds.hi.map((c) => c + margin);
  const { axis, flip } = rasAxes(map.affine);
  const out = new Float32Array(grid ** 3);
  const idx = [0, 0, 0];
  const inside = (value: number) => (value === code ? 1 : 0);
  for (let k = 0; k < grid; k++) {
    for (let j = 0; j < grid; j++) {
      for (let i = 0; i < grid; i++) {
        const ras = [i, j, k];
        for (let r = 0; r < 3; r++) {
          const a = axis[r];
          idx[a] = voxelCoord((ras[r] + 0.5) / grid, lo[a], hi[a], flip[r]);
        }
        out[i + grid * (j + grid * k)] = trilinear(map.data, map.dims, idx[0], idx[1], idx[2], inside);
      }
    }
  }
  return out;
}

/** The mean occupancy over label maps and margins, per structure (a map without a structure does not count for it), and the boxes' sizes. */
export function buildBoxPrior(maps: Iterable<LabelMap>, codes: readonly number[], margins: readonly number[], grid: number): BoxPrior {
  const sums = new Map(codes.map((c) => [c, new Float64Array(grid ** 3)]));
  const counts = new Map(codes.map((c) => [c, 0]));
  const sizes = new Map(codes.map((c) => [c, { minMm: [Infinity, Infinity, Infinity], maxMm: [0, 0, 0] }]));
  for (const map of maps) {
    const bounds = labelBoxes(map.data, map.dims, codes);
    for (const [code, b] of bounds) {
      for (const margin of margins) {
        const occ = boxOccupancy(map, code, b, margin, grid);
        const sum = sums.get(code)!;
        for (let q = 0; q < occ.length; q++) sum[q] += occ[q];
        counts.set(code, counts.get(code)! + 1);
        const mm = boxSizeMm({ lo: b.lo.map((c) => c - margin), hi: b.hi.map((c) => c + margin) }, map.affine);
        const range = sizes.get(code)!;
        for (let r = 0; r < 3; r++) {
          range.minMm[r] = Math.min(range.minMm[r], mm[r]);
          range.maxMm[r] = Math.max(range.maxMm[r], mm[r]);
        }
      }
    }
  }
  const structures = new Map<number, Float32Array>();
  for (const code of codes) {
    const n = counts.get(code)!;
    if (n === 0) throw new Error(`no label map has structure ${code}`);
    structures.set(code, Float32Array.from(sums.get(code)!, (s) => s / n));
  }
  const round = (v: readonly number[]) => v.map((x) => Math.round(x * 10) / 10) as unknown as RasMm;
  return { grid, margins, structures, sizes: new Map([...sizes].map(([c, r]) => [c, { minMm: round(r.minMm), maxMm: round(r.maxMm) }])) };
}

/**
 * Why the prior does not apply to this box, or null when it does: it knows the structure, and
 * the box's size lies within `BOX_SIZE_TOLERANCE` of the boxes it was learned from on every axis.
 */
export function priorMismatch(prior: BoxPrior, box: VoxelBoxPrompt, affine: Mat4): string | null {
  const range = prior.sizes.get(box.label);
  if (!prior.structures.has(box.label) || !range) return `label ${box.label} is not one of the prior's structures`;
  const mm = boxSizeMm(box, affine);
  const off = [0, 1, 2].filter((r) => mm[r] < range.minMm[r] / BOX_SIZE_TOLERANCE || mm[r] > range.maxMm[r] * BOX_SIZE_TOLERANCE);
  if (off.length === 0) return null;
  const fmt = (v: RasMm) => v.map((x) => Math.round(x)).join(' × ');
  return `box ${box.label} is ${fmt(mm)} mm (R × A × S), outside the ${fmt(range.minMm)} to ${fmt(range.maxMm)} mm boxes the prior was learned from (by more than × ${BOX_SIZE_TOLERANCE}): it seems not to be drawn close around the structure, so SAM answers alone`;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function encodeBoxPrior(prior: BoxPrior, provenance: BoxPriorProvenance): BoxPriorFile {
  const structures: Record<string, string> = {};
  for (const [code, occ] of prior.structures) structures[String(code)] = toBase64(Uint8Array.from(occ, (p) => Math.round(p * QUANT)));
  const sizesMm: Record<string, BoxSizeRange> = {};
  for (const [code, range] of prior.sizes) sizesMm[String(code)] = range;
  return { format: BOX_PRIOR_FORMAT, version: 1, ...provenance, grid: prior.grid, margins: prior.margins, axes: 'RAS, x fastest', sizesMm, structures };
}

export function decodeBoxPrior(file: BoxPriorFile): BoxPrior {
  if (file.format !== BOX_PRIOR_FORMAT || file.version !== 1) throw new Error(`not a Seahorse SAM box prior (format ${String(file.format)}, version ${String(file.version)})`);
  const cells = file.grid ** 3;
  const structures = new Map<number, Float32Array>();
  for (const [code, text] of Object.entries(file.structures)) {
    const bytes = fromBase64(text);
    if (bytes.length !== cells) throw new Error(`box prior of structure ${code}: ${bytes.length} cells, expected ${file.grid}³`);
    structures.set(Number(code), Float32Array.from(bytes, (b) => b / QUANT));
  }
  const sizes = new Map(Object.entries(file.sizesMm ?? {}).map(([code, range]) => [Number(code), range]));
  for (const code of structures.keys()) if (!sizes.has(code)) throw new Error(`box prior of structure ${code} has no box sizes`);
  return { grid: file.grid, margins: file.margins, structures, sizes };
}

/**
 * The prior's weighted log-odds on the box's own voxel grid (x fastest), for a box on a scan
 * with this affine; null when the prior does not apply (`priorMismatch`: the box's label, read
 * as a FreeSurfer aseg code, is not one of its structures, or the box's size is not one it knows).
 */
export function boxPriorLogOdds(prior: BoxPrior, box: VoxelBoxPrompt, affine: Mat4, weight = BOX_PRIOR_WEIGHT): Float32Array | null {
  const occ = prior.structures.get(box.label);
  if (!occ || priorMismatch(prior, box, affine) !== null) return null;
  const { axis, flip } = rasAxes(affine);
  const size = [0, 1, 2].map((a) => box.hi[a] - box.lo[a] + 1);
  const g = prior.grid;
  const gridDims: Dims3 = [g, g, g];
  const out = new Float32Array(size[0] * size[1] * size[2]);
  const cell = [0, 0, 0];
  const p = [0, 0, 0];
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0; i < size[0]; i++) {
        p[0] = i;
        p[1] = j;
        p[2] = k;
        for (let r = 0; r < 3; r++) {
          const a = axis[r];
          // The inverse of voxelCoord: the voxel's centre as a fraction of the box along world axis r.
          const u = (p[a] + 0.5) / size[a];
          cell[r] = (flip[r] ? 1 - u : u) * g - 0.5;
        }
        const pr = Math.min(Math.max(trilinear(occ, gridDims, cell[0], cell[1], cell[2], (x) => x), PRIOR_FLOOR), 1 - PRIOR_FLOOR);
        out[i + size[0] * (j + size[1] * k)] = weight * Math.log(pr / (1 - pr));
      }
    }
  }
  return out;
}

/** The labels of the boxes the prior applies to: 3-D boxes (`isFusedBox`) of its structures, of a size it knows (`priorMismatch`); sorted, once each. */
export function labelsWithPrior(prior: BoxPrior, boxes: readonly VoxelBoxPrompt[], affine: Mat4): number[] {
  return [...new Set(boxes.filter((b) => isFusedBox(b) && priorMismatch(prior, b, affine) === null).map((b) => b.label))].sort((a, b) => a - b);
}

/** Why the prior skips 3-D boxes of its structures whose size it does not know (`priorMismatch`), one line each. */
export function priorSkipped(prior: BoxPrior, boxes: readonly VoxelBoxPrompt[], affine: Mat4): string[] {
  return boxes.filter((b) => isFusedBox(b) && prior.structures.has(b.label)).flatMap((b) => priorMismatch(prior, b, affine) ?? []);
}
