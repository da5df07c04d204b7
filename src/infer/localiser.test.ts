/**
 * The full-head localiser (models/localiser.onnx) on real scans it never saw in training
 * (it was trained on synthetic heads only): each hippocampus centroid within 5 mm of the
 * subject's own label centroid (8 mm of AAL's coarse outline on Colin27), a volume that is not a head reported as not found, and
 * header reorientation that changes nothing in world space. onnxruntime-node on the CPU.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, multiply, type Vec3 } from '../core/affine';
import { localiserGrid } from '../core/fullhead/localiser-grid';
import { readVolume } from '../core/io';
import { labelCentroidMm } from '../core/measure';
import { applyReorientation, type Reorientation } from '../core/orientation';
import { mat4, type Dims3, type Mat4, type Volume } from '../core/volume';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { localiseHippocampi, LOCALISER_ID, MIN_BRAIN_MM3, type LocaliserResult } from './localiser';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';

const SLOW = 120_000;
/** Issue #13: localisation within 5 mm of the true hippocampus centroid. */
const MAX_CENTROID_ERROR_MM = 5;
/** Against AAL's coarse outline on Colin27 (see the test). */
const COARSE_LABELS_MM = 8;
const installed = listInstalledModels(undefined, 'localisation').some((m) => m.manifest.id === LOCALISER_ID);
const skip = !hasShared ? sharedMissing : !installed ? '(skipped: models/localiser.json is not installed yet)' : '';
const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

/** World centroid of the voxels equal to `value`; the label must be there. */
function labelCentroid(labels: Volume, value: number): Vec3 {
  const c = labelCentroidMm(labels, value);
  if (!c) throw new Error(`label ${value} absent`);
  return c;
}

const dist = (a: readonly number[] | null, b: readonly number[]) => (a ? Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) : Infinity);

/** A reorientation from axis maps, for re-writing the same scan with another header. */
function reorientation(dims: Dims3, affine: Mat4, outputAxis: [number, number, number], flip: [boolean, boolean, boolean]): Reorientation {
  const t = new Float64Array(16);
  t[15] = 1;
  const outputDims = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    outputDims[outputAxis[a]] = dims[a];
    t[4 * a + outputAxis[a]] = flip[a] ? -1 : 1;
    t[4 * a + 3] = flip[a] ? dims[a] - 1 : 0;
  }
  return { inputDims: dims, inputAffine: affine, outputAxis, flip, outputDims: outputDims as unknown as Dims3, outputToInputVoxel: mat4(t) };
}

describe('localiser grid (pure)', () => {
  it('is 72³ × 4 mm along the scan axes permuted to RAS, centred on the scan grid centre', () => {
    // LIA 256³ at 1 mm, like a FreeSurfer-conformed scan.
    const lia = mat4([-1, 0, 0, 128, 0, 0, 1, -128, 0, -1, 0, 128, 0, 0, 0, 1]);
    const g = localiserGrid({ dims: [256, 256, 256], affine: lia });
    expect(g.dims).toEqual([72, 72, 72]);
    expect(Array.from(g.affine.slice(0, 12)).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([4, 0, 0, 128 - 127.5 - 142, 0, 4, 0, -128 + 127.5 - 142, 0, 0, 4, 128 - 127.5 - 142]);
    const centre = applyToPoint(g.affine, [35.5, 35.5, 35.5]);
    const scanCentre = applyToPoint(lia, [127.5, 127.5, 127.5]);
    for (let a = 0; a < 3; a++) expect(centre[a]).toBeCloseTo(scanCentre[a], 9);
  });

  it('is the same world grid whatever the header orientation of the same voxels', () => {
    const dims: Dims3 = [40, 50, 60];
    const ras = mat4([0.9, 0, 0, -20, 0, 1.1, 0, -30, 0, 0, 1.3, 10, 0, 0, 0, 1]);
    const g0 = localiserGrid({ dims, affine: ras });
    const r = reorientation(dims, ras, [2, 0, 1], [true, false, true]);
    const moved = applyReorientation({ dims, affine: ras, spacing: [0.9, 1.1, 1.3], data: new Float32Array(40 * 50 * 60) }, r);
    const g1 = localiserGrid(moved);
    for (let n = 0; n < 16; n++) expect(g1.affine[n]).toBeCloseTo(g0.affine[n], 9);
  });
});

describe.skipIf(skip !== '')(`localiser on real scans ${skip}`, () => {
  let model: LoadedNodeModel;
  const measured: string[] = [];
  beforeAll(async () => {
    model = await loadModelNode(LOCALISER_ID, { threads: 2 });
  }, SLOW);
  afterAll(async () => {
    console.log(`localiser centroid errors (mm): ${measured.join('; ')}`);
    await model?.backend.dispose();
  });

  async function expectNear(name: string, scan: Volume, left: Vec3, right: Vec3, within = MAX_CENTROID_ERROR_MM): Promise<LocaliserResult> {
    const r = await localiseHippocampi(scan, model);
    const dl = dist(r.left.centroidMm, left);
    const dr = dist(r.right.centroidMm, right);
    measured.push(`${name} L ${dl.toFixed(1)} R ${dr.toFixed(1)}`);
    expect(r.problems, name).toEqual([]);
    expect(r.found).toBe(true);
    expect(dl, `${name}: left hippocampus centroid error`).toBeLessThan(within);
    expect(dr, `${name}: right hippocampus centroid error`).toBeLessThan(within);
    return r;
  }

  it('is installed as a localiser, never listed as a segmentation model', () => {
    expect(listInstalledModels().map((m) => m.manifest.id)).not.toContain(LOCALISER_ID);
    expect(model.manifest.status).toBe('trained');
    expect(model.manifest.task).toBe('localisation');
    // Measured less accurate than the registration: it checks it, places nothing.
    expect(model.manifest.localiserRole).toBe('cross-check');
  });

  it('finds both hippocampi of FreeSurfer\'s bert (norm.mgz: skull-stripped, WM 110) within 5 mm of aseg 17 / 53', async () => {
    const dir = join(dataDir, 'fullhead_labelled', 'bert');
    const aseg = read(join(dir, 'aseg.mgz'));
    const r = await expectNear('bert', read(join(dir, 'norm.mgz')), labelCentroid(aseg, 17), labelCentroid(aseg, 53));
    // A head is seen. The 4 mm brain class over-calls (2.3 L here, against an adult's 1.1–1.9 L
    // intracranial volume; brain Dice 0.69 on held-out synthetic heads): a cross-check localiser's
    // brain is not used, the registration gives the ICV.
    expect(r.brainVolumeMm3).toBeGreaterThan(MIN_BRAIN_MM3);
    expect(r.brainVolumeMm3).toBeLessThan(3.0e6);
  }, SLOW);

  it('finds both hippocampi of the voxelmorph subject (skull-stripped, [0, 1]) within 5 mm of its labels 17 / 53', async () => {
    const dir = join(dataDir, 'fullhead_labelled', 'vxm_subject');
    const aseg = read(join(dir, 'aseg.nii.gz'));
    await expectNear('vxm', read(join(dir, 't1.nii.gz')), labelCentroid(aseg, 17), labelCentroid(aseg, 53));
  }, SLOW);

  it('finds both hippocampi of Colin27 (full head with skull) within 8 mm of AAL 37 / 38', async () => {
    // AAL's hippocampus is a coarse, generous outline (≈7.5 cm³ a side on ch2): the template
    // registration's expectation is itself 3.4 mm from its centroids, the localiser 6.5–6.7 mm
    // (bench/localiser.ts). 8 mm is the error under which the cross-check catches a registration
    // 20 mm off from any direction (CROSSCHECK_WARN_MM in core/fullhead/qc.ts).
    const aal = read(join(dataDir, 'templates', 'aal.nii.gz'));
    await expectNear('colin27', read(join(dataDir, 'templates', 'ch2.nii.gz')), labelCentroid(aal, 37), labelCentroid(aal, 38), COARSE_LABELS_MM);
  }, SLOW);

  it('gives the same world centroids for the same scan written LIA, RAS and LPS (within 1 mm)', async () => {
    const scan = read(join(dataDir, 'fullhead_labelled', 'bert', 'norm.mgz')); // LIA
    const toRas = reorientation(scan.dims, scan.affine, [0, 2, 1], [true, false, true]);
    const ras = applyReorientation(scan, toRas);
    const lps = applyReorientation(ras, reorientation(ras.dims, ras.affine, [0, 1, 2], [true, true, false]));
    const results = [];
    for (const v of [scan, ras, lps]) results.push(await localiseHippocampi(v, model));
    const [a, b, c] = results;
    expect(multiply(ras.affine, mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))[0]).toBeGreaterThan(0); // RAS: i runs to R+
    expect(lps.affine[0]).toBeLessThan(0);
    for (const other of [b, c]) {
      expect(dist(other.left.centroidMm, a.left.centroidMm!)).toBeLessThan(1);
      expect(dist(other.right.centroidMm, a.right.centroidMm!)).toBeLessThan(1);
    }
  }, SLOW);

  it('sees the same head in signed intensities: the scan z-scored, and with 1,000 taken off (air below zero)', async () => {
    const scan = read(join(dataDir, 'fullhead_labelled', 'bert', 'norm.mgz'));
    const plain = await localiseHippocampi(scan, model);
    let sum = 0, sumSq = 0;
    for (const v of scan.data) (sum += v), (sumSq += v * v);
    const mean = sum / scan.data.length;
    const sd = Math.sqrt(sumSq / scan.data.length - mean * mean);
    for (const [name, f] of [
      ['z-scored', (v: number) => (v - mean) / sd],
      ['offset −1000', (v: number) => v - 1000],
    ] as const) {
      const signed: Volume = { ...scan, data: Float32Array.from(scan.data, f) };
      const r = await localiseHippocampi(signed, model);
      expect(r.problems, name).toEqual([]);
      expect(dist(r.left.centroidMm, plain.left.centroidMm!), name).toBeLessThan(0.5);
      expect(dist(r.right.centroidMm, plain.right.centroidMm!), name).toBeLessThan(0.5);
    }
  }, SLOW);

  it('finds nothing, with the reason, in noise and in an MSD hippocampus crop', async () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const noise: Volume = {
      dims: [128, 128, 128],
      spacing: [1.5, 1.5, 1.5],
      affine: mat4([1.5, 0, 0, -96, 0, 1.5, 0, -96, 0, 0, 1.5, -96, 0, 0, 0, 1]),
      data: Float32Array.from({ length: 128 ** 3 }, () => 1000 * rand()),
    };
    const crop = read(join(dataDir, 'msd_hippocampus', 'images', 'hippocampus_001.nii.gz'));
    // The crop holds too little brain. Uniform noise is not found either, but not for want of a
    // head: the shipped model calls 4.2 L of it brain (and finds no right hippocampus in it), so
    // its "a head is in view" is no evidence on its own; the registration refuses noise, and a
    // cross-check localiser is only compared with a registration that did not fail.
    for (const [name, v, why] of [
      ['noise', noise, /hippocampus was found|No head was found/],
      ['MSD crop', crop, /No head was found/],
    ] as const) {
      const r = await localiseHippocampi(v, model);
      expect(r.found, name).toBe(false);
      expect(r.problems.join(' '), name).toMatch(why);
    }
  }, SLOW);
});
