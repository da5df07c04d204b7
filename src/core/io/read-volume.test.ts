import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { NIFTI1 } from 'nifti-reader-js';
import { describe, expect, it } from 'vitest';
import { dataDir, hasShared, msdDir, sharedMissing } from '../../testing/shared';
import { maxAbsDiff } from '../affine';
import { mat4, type Volume } from '../volume';
import { readVolume, VolumeReadError, VOXEL_LIMIT, type VolumeProblem } from './index';

interface NiftiSpec {
  readonly dims: readonly number[];
  readonly datatype: number;
  readonly bitpix: number;
  readonly voxels: Uint8Array;
  readonly littleEndian?: boolean;
  readonly sform?: readonly number[];
  readonly sformCode?: number;
  readonly qform?: { b: number; c: number; d: number; offset: readonly number[]; qfac: number };
  readonly qformCode?: number;
  readonly pixdim?: readonly number[];
  readonly slope?: number;
  readonly inter?: number;
  readonly magic?: string;
}

/** A single-file NIfTI-1, header serialised by nifti-reader-js (independent of our writer). */
function nifti1(spec: NiftiSpec): Uint8Array {
  const h = new NIFTI1();
  h.littleEndian = spec.littleEndian ?? true;
  h.dims = [spec.dims.length, ...spec.dims, ...Array(7 - spec.dims.length).fill(1)];
  h.datatypeCode = spec.datatype;
  h.numBitsPerVoxel = spec.bitpix;
  h.pixDims = [spec.qform?.qfac ?? 1, ...(spec.pixdim ?? [1, 1, 1]), 0, 0, 0, 0];
  h.vox_offset = 352;
  h.scl_slope = spec.slope ?? 1;
  h.scl_inter = spec.inter ?? 0;
  h.magic = spec.magic ?? 'n+1';
  h.sform_code = spec.sformCode ?? (spec.sform ? 1 : 0);
  h.qform_code = spec.qformCode ?? (spec.qform ? 1 : 0);
  if (spec.qform) {
    h.quatern_b = spec.qform.b;
    h.quatern_c = spec.qform.c;
    h.quatern_d = spec.qform.d;
    [h.qoffset_x, h.qoffset_y, h.qoffset_z] = spec.qform.offset;
  }
  const s = spec.sform ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
  h.affine = [s.slice(0, 4), s.slice(4, 8), s.slice(8, 12), [0, 0, 0, 1]];
  const header = new Uint8Array(h.toArrayBuffer());
  const out = new Uint8Array(352 + spec.voxels.length);
  out.set(header);
  out.set(spec.voxels, 352);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Big-endian bytes of int16 values. */
function int16BE(values: number[]): Uint8Array {
  const v = new DataView(new ArrayBuffer(values.length * 2));
  values.forEach((x, n) => v.setInt16(2 * n, x, false));
  return new Uint8Array(v.buffer);
}

function problem(fn: () => unknown): { code: VolumeProblem; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof VolumeReadError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a VolumeReadError');
}

const tiny = (dims: number[] = [2, 3, 4]) => ({ dims, datatype: 2, bitpix: 8, voxels: Uint8Array.from({ length: dims.reduce((a, b) => a * b) }, (_, n) => n) });

describe('NIfTI-1 geometry', () => {
  it('uses the sform when sform_code > 0, even with a qform present', () => {
    const sform = [0, 0, 2, -5, -1.5, 0, 0, 7, 0, 3, 0, 9];
    const v = readVolume(
      nifti1({ ...tiny(), sform, sformCode: 2, qform: { b: 0, c: 0, d: 1, offset: [1, 2, 3], qfac: 1 }, qformCode: 1 }),
      'a.nii',
    );
    expect(Array.from(v.affine)).toEqual([...sform, 0, 0, 0, 1]);
    expect(v.spacing).toEqual([1.5, 3, 2]);
  });

  it('uses the qform (quaternion, qfac −1) when sform_code is 0, as nibabel does', () => {
    const v = readVolume(
      nifti1({ ...tiny([4, 5, 6]), pixdim: [0.9, 1.1, 1.3], qform: { b: 0.1, c: -0.3, d: 0.2, offset: [10.5, -20.25, 30], qfac: -1 } }),
      'q.nii',
    );
    // nibabel 5.0 Nifti1Header.get_qform() for the same (float32) header fields.
    const nibabel = mat4([
      0.6659999673366548, -0.47403923171235385, 0.6713422415826371, 10.5,
      0.27985025877113745, 0.9900000181794165, 0.3971140772216218, -20.25,
      0.5367754029926842, 0.07201960326469543, -1.039999942481518, 30.0,
      0, 0, 0, 1,
    ]);
    // Both are float64 evaluations of the same float32 inputs: only rounding differs.
    expect(maxAbsDiff(v.affine, nibabel)).toBeLessThan(1e-12);
  });

  it('handles a 180° qform rotation (quaternion a = 0)', () => {
    const v = readVolume(nifti1({ ...tiny(), pixdim: [2, 2, 2], qform: { b: 0, c: 1, d: 0, offset: [0, 0, 0], qfac: 1 } }), 'r.nii');
    expect(Array.from(v.affine)).toEqual([-2, 0, 0, 0, 0, 2, 0, 0, 0, 0, -2, 0, 0, 0, 0, 1]);
  });

  it('falls back to pixdim scaling when neither form is set', () => {
    const v = readVolume(nifti1({ ...tiny(), pixdim: [0.5, 0.75, 3] }), 'p.nii');
    expect(Array.from(v.affine)).toEqual([0.5, 0, 0, 0, 0, 0.75, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1]);
  });
});

describe('voxel decoding', () => {
  it('keeps the stored type and i-fastest order', () => {
    const v = readVolume(nifti1(tiny()), 'u8.nii');
    expect(v.dims).toEqual([2, 3, 4]);
    expect(v.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(v.data)).toEqual(Array.from({ length: 24 }, (_, n) => n));
  });

  it('reads big-endian files and applies scl_slope/scl_inter (as float32)', () => {
    const raw = Array.from({ length: 24 }, (_, n) => n * 100 - 1000);
    const v = readVolume(nifti1({ dims: [2, 3, 4], datatype: 4, bitpix: 16, voxels: int16BE(raw), littleEndian: false, slope: 0.5, inter: 3 }), 'be.nii');
    expect(v.data).toBeInstanceOf(Float32Array);
    expect(Array.from(v.data)).toEqual(raw.map((x) => x * 0.5 + 3));
  });

  it('ignores scl_slope 0 (the standard’s "no scaling")', () => {
    const v = readVolume(nifti1({ ...tiny(), slope: 0, inter: 5 }), 'slope0.nii');
    expect(v.data).toBeInstanceOf(Uint8Array);
  });

  for (const [datatype, bitpix, Ctor] of [
    [256, 8, Int8Array],
    [512, 16, Uint16Array],
    [4, 16, Int16Array],
    [768, 32, Uint32Array],
    [8, 32, Int32Array],
    [16, 32, Float32Array],
    [64, 64, Float64Array],
  ] as const) {
    it(`reads datatype ${datatype} as ${Ctor.name}`, () => {
      const values = new Ctor(24);
      for (let n = 0; n < 24; n++) values[n] = Ctor === Uint16Array || Ctor === Uint32Array ? n * 3 : n * 3 - 30;
      const v = readVolume(nifti1({ dims: [2, 3, 4], datatype, bitpix, voxels: bytesOf(values) }), 't.nii');
      expect(v.data).toBeInstanceOf(Ctor);
      expect(Array.from(v.data)).toEqual(Array.from(values));
    });
  }

  it('reads int64 as float64', () => {
    const values = BigInt64Array.from({ length: 24 }, (_, n) => BigInt(n * 1000 - 7));
    const v = readVolume(nifti1({ dims: [2, 3, 4], datatype: 1024, bitpix: 64, voxels: bytesOf(values) }), 'i64.nii');
    expect(v.data).toBeInstanceOf(Float64Array);
    expect(Array.from(v.data)).toEqual(Array.from(values, Number));
  });

  it('reads .nii.gz (single- and multi-member gzip) and a NIfTI-2 file', () => {
    const plain = nifti1(tiny());
    const gz = readVolume(gzipSync(plain), 'x.nii.gz');
    expect(Array.from(gz.data)).toEqual(Array.from({ length: 24 }, (_, n) => n));
    // bgzip-style: the file compressed as two concatenated gzip members.
    const first = gzipSync(plain.subarray(0, 200));
    const second = gzipSync(plain.subarray(200));
    const members = new Uint8Array(first.length + second.length);
    members.set(first);
    members.set(second, first.length);
    expect(Array.from(readVolume(members, 'bgzip.nii.gz').data)).toEqual(Array.from({ length: 24 }, (_, n) => n));
    // NIfTI-2: 540-byte header, int64 dims, float64 sform; built field by field.
    const b = new ArrayBuffer(544 + 24 * 2);
    const v = new DataView(b);
    v.setInt32(0, 540, true);
    new Uint8Array(b).set(new TextEncoder().encode('n+2\0\r\n\x1a\n'), 4);
    v.setInt16(12, 4, true); // int16
    v.setInt16(14, 16, true);
    [3, 2, 3, 4, 1, 1, 1, 1].forEach((d, n) => v.setBigInt64(16 + 8 * n, BigInt(d), true));
    [1, 1, 1, 1].forEach((p, n) => v.setFloat64(104 + 8 * n, p, true));
    v.setBigInt64(168, 544n, true);
    v.setFloat64(176, 1, true);
    v.setInt32(348, 1, true); // sform_code
    const sform = [0.7, 0, 0, -12.25, 0, 0.7, 0, 4.5, 0, 0, 2.2, 0.125];
    sform.forEach((x, n) => v.setFloat64(400 + 8 * n, x, true));
    for (let n = 0; n < 24; n++) v.setInt16(544 + 2 * n, -n, true);
    const n2 = readVolume(new Uint8Array(b), 'two.nii');
    expect(Array.from(n2.affine)).toEqual([...sform, 0, 0, 0, 1]);
    expect(Array.from(n2.data)).toEqual(Array.from({ length: 24 }, (_, n) => -n || 0));
  });
});

/** An MGH file: big-endian header (dims, type, goodRASFlag, delta, Mdc, Pxyz_c) + voxels. */
function mgh(dims: number[], type: number, voxels: Uint8Array, goodRAS = 1): Uint8Array {
  const b = new ArrayBuffer(284 + voxels.length);
  const v = new DataView(b);
  v.setInt32(0, 1, false);
  dims.forEach((d, n) => v.setInt32(4 + 4 * n, d, false));
  v.setInt32(20, type, false);
  v.setInt16(28, goodRAS, false);
  [1.2, 0.8, 1.5].forEach((x, n) => v.setFloat32(30 + 4 * n, x, false));
  // x, y, z voxel-axis directions (LIA), then the centre.
  [-1, 0, 0, 0, 0, -1, 0, 1, 0].forEach((x, n) => v.setFloat32(42 + 4 * n, x, false));
  [3, -7, 11].forEach((x, n) => v.setFloat32(78 + 4 * n, x, false));
  new Uint8Array(b).set(voxels, 284);
  return new Uint8Array(b);
}

describe('MGH/MGZ', () => {
  const values = Float32Array.from({ length: 120 }, (_, n) => n / 4 - 3);
  const be = new DataView(new ArrayBuffer(480));
  values.forEach((x, n) => be.setFloat32(4 * n, x, false));
  const file = mgh([4, 5, 6, 1], 3, new Uint8Array(be.buffer));

  it('reads the affine as nibabel does and the big-endian voxels', () => {
    for (const [bytes, name] of [
      [file, 'a.mgh'],
      [gzipSync(file), 'a.mgz'],
    ] as const) {
      const v = readVolume(bytes, name);
      // nibabel 5.0 MGHHeader.get_affine() for this header. nibabel does this arithmetic
      // in float32 (we use float64), so entries of magnitude ≤ 16 differ by ≤ 1 float32 ulp (~1e-6).
      const nibabel = [-1.2000000476837158, 0, 0, 5.400000095367432, 0, 0, 1.5, -11.5, 0, -0.800000011920929, 0, 13, 0, 0, 0, 1];
      expect(maxAbsDiff(v.affine, mat4(nibabel))).toBeLessThan(1e-6);
      expect(v.dims).toEqual([4, 5, 6]);
      expect(Array.from(v.data)).toEqual(Array.from(values));
    }
  });

  it('refuses an MGH without orientation and multi-frame MGH', () => {
    expect(problem(() => readVolume(mgh([4, 5, 6, 1], 3, new Uint8Array(480), 0), 'n.mgz')).code).toBe('bad-geometry');
    expect(problem(() => readVolume(mgh([4, 5, 6, 2], 3, new Uint8Array(960)), 'f.mgz')).code).toBe('multi-volume');
  });
});

describe('bad input gets a clear VolumeReadError', () => {
  it('empty, unknown, DICOM and .hdr files', () => {
    expect(problem(() => readVolume(new Uint8Array(0), 'e.nii')).code).toBe('empty-file');
    const unknown = problem(() => readVolume(new TextEncoder().encode('just some text, not a scan'), 'notes.txt'));
    expect(unknown.code).toBe('unsupported-format');
    expect(unknown.message).toMatch(/NIfTI-1\/NIfTI-2 .*MGH/);
    const dicom = new Uint8Array(300);
    dicom.set(new TextEncoder().encode('DICM'), 128);
    expect(problem(() => readVolume(dicom, 'IM0001.dcm')).message).toMatch(/DICOM/);
    expect(problem(() => readVolume(nifti1({ ...tiny(), magic: 'ni1' }), 'a.hdr')).message).toMatch(/\.hdr\/\.img/);
  });

  it('truncated files, raw and gzipped', () => {
    const full = nifti1(tiny([10, 10, 10]));
    const cut = problem(() => readVolume(full.subarray(0, 352 + 500), 'cut.nii'));
    expect(cut.code).toBe('truncated');
    expect(cut.message).toMatch(/1,000 bytes of voxels but only 500/);
    expect(problem(() => readVolume(full.subarray(0, 200), 'head.nii')).code).toBe('truncated');
    const gz = gzipSync(nifti1({ dims: [30, 30, 30], datatype: 16, bitpix: 32, voxels: bytesOf(Float32Array.from({ length: 27000 }, Math.random)) }));
    expect(problem(() => readVolume(gz.subarray(0, gz.length >> 1), 'cut.nii.gz')).code).toBe('truncated');
  });

  it('corrupt gzip', () => {
    const bad = new Uint8Array(200).fill(0x55);
    bad.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(problem(() => readVolume(bad, 'bad.nii.gz')).code).toBe('corrupt');
  });

  it('4-D series, 2-D images and empty dimensions', () => {
    const series = problem(() => readVolume(nifti1({ dims: [2, 3, 4, 3], datatype: 2, bitpix: 8, voxels: new Uint8Array(72) }), 'fmri.nii'));
    expect(series.code).toBe('multi-volume');
    expect(series.message).toMatch(/holds 3 volumes/);
    // A 4-D header with one volume is an ordinary 3-D scan.
    expect(readVolume(nifti1({ dims: [2, 3, 4, 1], datatype: 2, bitpix: 8, voxels: new Uint8Array(24) }), 'one.nii').dims).toEqual([2, 3, 4]);
    expect(problem(() => readVolume(nifti1({ dims: [5, 6], datatype: 2, bitpix: 8, voxels: new Uint8Array(30) }), 'xray.nii')).code).toBe('not-3d');
    expect(problem(() => readVolume(nifti1({ dims: [5, 6, 1], datatype: 2, bitpix: 8, voxels: new Uint8Array(30) }), 'slice.nii')).code).toBe('not-3d');
    expect(problem(() => readVolume(nifti1({ dims: [5, 0, 3], datatype: 2, bitpix: 8, voxels: new Uint8Array(0) }), 'zero.nii')).code).toBe('empty-dimension');
  });

  it('refuses huge volumes from the header alone, before inflating the body', () => {
    // Header only: a 512³ file would be 128 MiB; the check must not need the voxels.
    const header = nifti1({ dims: [512, 512, 512], datatype: 2, bitpix: 8, voxels: new Uint8Array(0) });
    const huge = problem(() => readVolume(gzipSync(header), 'big.nii.gz'));
    expect(huge.code).toBe('too-large');
    expect(huge.message).toMatch(/512 × 512 × 512 = 134,217,728 voxels/);
    expect(VOXEL_LIMIT).toBe(512 ** 3);
  });

  it('unsupported datatypes (RGB)', () => {
    expect(problem(() => readVolume(nifti1({ dims: [2, 3, 4], datatype: 128, bitpix: 24, voxels: new Uint8Array(72) }), 'rgb.nii')).message).toMatch(/RGB/);
  });

  it('NaN and Inf voxels: rejected with a count, or zeroed on request', () => {
    const values = Float32Array.from({ length: 24 }, (_, n) => n);
    values[3] = NaN;
    values[7] = Infinity;
    const file = nifti1({ dims: [2, 3, 4], datatype: 16, bitpix: 32, voxels: bytesOf(values) });
    const nan = problem(() => readVolume(file, 'nan.nii'));
    expect(nan.code).toBe('non-finite');
    expect(nan.message).toMatch(/has 2 voxels that are NaN or infinite/);
    const zeroed = readVolume(file, 'nan.nii', { nonFinite: 'zero' });
    expect(zeroed.data[3]).toBe(0);
    expect(zeroed.data[7]).toBe(0);
    expect(zeroed.data[8]).toBe(8);
  });
});

describe.skipIf(!hasShared)(`real scans ${hasShared ? '' : sharedMissing}`, () => {
  const load = (path: string): Volume => readVolume(new Uint8Array(readFileSync(path)), path);
  const sum = (v: Volume) => {
    let s = 0;
    for (let n = 0; n < v.data.length; n++) s += v.data[n];
    return s;
  };
  const at = (v: Volume, i: number, j: number, k: number) => v.data[i + v.dims[0] * (j + v.dims[1] * k)];
  // Expected values: nibabel 5.0 on the same files (shape, affine, dtype, sum, one voxel).

  it('an MSD uint8 crop and its label', () => {
    const img = load(join(msdDir, 'images/hippocampus_001.nii.gz'));
    expect(img.dims).toEqual([35, 51, 35]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(img.affine)).toEqual([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1]);
    expect(sum(img)).toBe(3968524);
    expect(at(img, 10, 20, 15)).toBe(56);
    const lab = load(join(msdDir, 'labels/hippocampus_001.nii.gz'));
    expect(sum(lab)).toBe(4572);
    expect(at(lab, 10, 20, 15)).toBe(2);
  });

  it('an MSD float32 crop', () => {
    const img = load(join(msdDir, 'images/hippocampus_003.nii.gz'));
    expect(img.dims).toEqual([34, 52, 35]);
    expect(img.data).toBeInstanceOf(Float32Array);
    expect(sum(img)).toBeCloseTo(29866089.86869049, 2);
    expect(at(img, 10, 20, 15)).toBeCloseTo(321.7844, 4);
  });

  it('the LIA full-head sample', () => {
    const img = load(join(dataDir, 'samples/brainchop_t1_crop.nii.gz'));
    expect(img.dims).toEqual([256, 256, 256]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    const f = Math.fround;
    expect(Array.from(img.affine)).toEqual([-1, 0, 0, f(127.6), 0, 0, 1, f(-133.48001), 0, -1, 0, f(134.48), 0, 0, 0, 1]);
  });
});
