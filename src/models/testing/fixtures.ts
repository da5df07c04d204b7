/**
 * Reading the golden fixtures (`../shared/fixtures`, README §0) for model parity tests, and the
 * comparisons they prescribe: errors relative to max|ref|, and for `sampled` tensors every 61st
 * flat element plus the full array's l2 checksum.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../testing/shared';
import { indexedWeightSource, type WeightIndex, type WeightSource } from '../weights';

export interface IndexEntry {
  offset: number;
  nbytes: number;
  shape: number[];
  dtype: string;
  sampled?: boolean;
  sample_stride?: number;
  full_shape?: number[];
  full_checksums?: { sum: number; sum_abs: number; l2: number; max_abs: number; numel: number };
}

export interface IndexedFile {
  index: { tensors: Record<string, IndexEntry> } & Record<string, unknown>;
  bin: Uint8Array;
}

/** The fixtures' model configurations (their config.json kwargs, in our names). */
export const FIXTURE_CONFIGS = {
  unetr_tiny: { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 },
  swinunetr_tiny: { inChannels: 1, outChannels: 3, featureSize: 12 },
} as const;

export const fixturePath = (...parts: string[]) => join(fixturesDir, ...parts);

export function readJson<T = Record<string, unknown>>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

export function readF32(...parts: string[]): Float32Array {
  const b = readFileSync(fixturePath(...parts));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readU8(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(...parts)));
}

export function readIndexed(dir: string, stem: string): IndexedFile {
  return { index: readJson(dir, `${stem}.json`), bin: new Uint8Array(readFileSync(fixturePath(dir, `${stem}.bin`))) };
}

/** The float32 values of one entry of an indexed file. */
export function entryValues(f: IndexedFile, name: string): Float32Array {
  const e = f.index.tensors[name];
  if (!e) throw new Error(`fixture has no tensor "${name}"`);
  return new Float32Array(f.bin.slice(e.offset, e.offset + e.nbytes).buffer);
}

export function fixtureWeights(dir: string): WeightSource {
  const { index, bin } = readIndexed(dir, 'weights');
  return indexedWeightSource(index as unknown as WeightIndex, bin, `${dir}/weights.bin`);
}

/** max|a − ref| / max|ref|. */
export function relToMax(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`length ${a.length} vs reference ${ref.length}`);
  let err = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return m === 0 ? err : err / m;
}

export function maxAbsDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - ref[i]));
  return err;
}

/** ‖a − ref‖₂ / ‖ref‖₂. */
export function relL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Every `stride`-th element of a flat array (the fixtures' sampling, stride 61). */
export function sample(a: ArrayLike<number>, stride: number): Float64Array {
  const out = new Float64Array(Math.ceil(a.length / stride));
  for (let i = 0, j = 0; i < a.length; i += stride, j++) out[j] = a[i];
  return out;
}

export interface Comparison {
  /** max|a − ref| / max|ref| over the compared elements. */
  relMax: number;
  relL2: number;
  cosine: number;
  /** |l2(a) − l2(ref)| / l2(ref) on the full array (sampled entries: against full_checksums.l2). */
  l2Rel: number;
}

/**
 * Compares a full result with an entry that may be stored in full or sampled; for a sampled
 * entry the sampled elements and the full-array l2 checksum are compared.
 */
export function compareEntry(f: IndexedFile, name: string, full: ArrayLike<number>): Comparison {
  const e = f.index.tensors[name];
  const ref = entryValues(f, name);
  if (e.sampled) {
    const s = sample(full, e.sample_stride!);
    const refL2 = e.full_checksums!.l2;
    return { relMax: relToMax(s, ref), relL2: relL2(s, ref), cosine: cosine(s, ref), l2Rel: Math.abs(l2(full) - refL2) / refL2 };
  }
  const refL2 = l2(ref);
  return { relMax: relToMax(full, ref), relL2: relL2(full, ref), cosine: cosine(full, ref), l2Rel: Math.abs(l2(full) - refL2) / refL2 };
}
