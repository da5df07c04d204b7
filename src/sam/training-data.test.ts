/** What SAM fine-tuning trains on (src/sam/training-data.ts): structure codes and slice choice; no model. */
import { describe, expect, it } from 'vitest';
import { mat4, type Dims3 } from '../core/volume';
import { extractSlice, PLANES, slicePlane, type PlaneName } from './slice-geometry';
import { chooseSlices, chooseSlicesPerPlane, DEFAULT_SAM_STRUCTURES, parseStructures, presentStructures, slicesPerPlane, trainingPlanes } from './training-data';

describe('SAM training data', () => {
  it("the default structures are the issue's twelve, left and right", () => {
    expect(DEFAULT_SAM_STRUCTURES).toEqual([17, 53, 18, 54, 10, 49, 12, 51, 11, 50, 13, 52]);
    expect(new Set(DEFAULT_SAM_STRUCTURES).size).toBe(12);
  });

  it('parses codes separated by commas or spaces; refuses non-codes and duplicates with the reason', () => {
    expect(parseStructures('17,53, 18 54')).toEqual([17, 53, 18, 54]);
    expect(parseStructures(' 1 ')).toEqual([1]);
    expect(() => parseStructures('  ')).toThrow(/at least one label code/);
    expect(() => parseStructures('17,x,0')).toThrow(/“x, 0” are not/);
    expect(() => parseStructures('2.5')).toThrow(/“2.5” is not/);
    expect(() => parseStructures('17,53,17')).toThrow(/17 is listed twice/);
  });

  it('splits the requested codes into those labelled and those missing, in the order asked', () => {
    expect(presentStructures([17, 53, 18, 1, 2], new Set([0, 2, 1, 99]))).toEqual({ present: [1, 2], missing: [17, 53, 18] });
    expect(presentStructures([17], new Set())).toEqual({ present: [], missing: [17] });
  });

  it('chooses slices through the structures only, evenly spaced when there are more than asked', () => {
    // 10 slices of 4 pixels; structure 5 on slices 2–7, structure 9 (not asked) on slice 9.
    const slices = Array.from({ length: 10 }, (_, s) => Float32Array.from([0, s >= 2 && s <= 7 ? 5 : 0, s === 9 ? 9 : 0, 0]));
    const at = (s: number) => slices[s];
    expect(chooseSlices(at, 10, new Set([5]), 24)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(chooseSlices(at, 10, new Set([5]), 2)).toEqual([3, 6]);
    expect(chooseSlices(at, 10, new Set([5]), 1)).toEqual([5]);
    expect(chooseSlices(at, 10, new Set([5, 9]), 24)).toEqual([2, 3, 4, 5, 6, 7, 9]);
    expect(chooseSlices(at, 10, new Set([42]), 3)).toEqual([]);
  });

  it('--axis: one plane, or all three; anything else is refused (null)', () => {
    expect(trainingPlanes('all')).toEqual(['sagittal', 'coronal', 'axial']);
    expect(trainingPlanes('coronal')).toEqual(['coronal']);
    expect(trainingPlanes('axial')).toEqual(['axial']);
    expect(trainingPlanes('oblique')).toBeNull();
    expect(trainingPlanes('')).toBeNull();
  });

  it('--slices: one count for every plane, or a count per plane naming each plane trained on once', () => {
    const all = trainingPlanes('all')!;
    expect([...slicesPerPlane(undefined, all, 24)]).toEqual([['sagittal', 24], ['coronal', 24], ['axial', 24]]);
    expect([...slicesPerPlane('16', all, 24)]).toEqual([['sagittal', 16], ['coronal', 16], ['axial', 16]]);
    // Given in any order, returned in the planes' order.
    expect([...slicesPerPlane('coronal:16, axial:6,sagittal:5', all, 24)]).toEqual([['sagittal', 5], ['coronal', 16], ['axial', 6]]);
    expect([...slicesPerPlane('coronal:16', ['coronal'], 24)]).toEqual([['coronal', 16]]);
    expect(() => slicesPerPlane('coronal:16', all, 24)).toThrow(/no count for sagittal, axial/);
    expect(() => slicesPerPlane('coronal:16,axial:6', ['coronal'], 24)).toThrow(/names axial, which is not among the planes trained on \(coronal\)/);
    expect(() => slicesPerPlane('coronal:16,coronal:4,sagittal:1,axial:1', all, 24)).toThrow(/names coronal twice/);
    expect(() => slicesPerPlane('coronal:0,sagittal:1,axial:1', all, 24)).toThrow(/positive whole number, got "0"/);
    expect(() => slicesPerPlane('2.5', all, 24)).toThrow(/positive whole number, got "2.5"/);
    expect(() => slicesPerPlane('coronal,sagittal:1,axial:1', all, 24)).toThrow(/positive whole number, got ""/);
  });

  it('draws each plane its own count of slices, each through the structure along that plane', () => {
    // A RAS grid (i → R, j → A, k → S): sagittal slices are i, coronal j, axial k. Structure 5
    // fills i 2–5, j 10–17, k 20–21; label 9 (not asked) fills k 25.
    const dims: Dims3 = [8, 20, 30];
    const labels = new Float32Array(dims[0] * dims[1] * dims[2]);
    for (let k = 0; k < dims[2]; k++)
      for (let j = 0; j < dims[1]; j++)
        for (let i = 0; i < dims[0]; i++) {
          const inside = i >= 2 && i <= 5 && j >= 10 && j <= 17 && k >= 20 && k <= 21;
          labels[i + dims[0] * (j + dims[1] * k)] = inside ? 5 : k === 25 ? 9 : 0;
        }
    const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const sliceOf = (plane: PlaneName) => {
      const p = slicePlane(dims, affine, [1, 1, 1], plane);
      return { slice: (s: number) => extractSlice(p, dims, labels, s), sliceCount: p.sliceCount };
    };
    const counts = new Map<PlaneName, number>([['sagittal', 2], ['coronal', 4], ['axial', 24]]);
    const chosen = chooseSlicesPerPlane(PLANES, sliceOf, new Set([5]), counts);
    expect(chosen).toEqual([
      { plane: 'sagittal', slice: 3 },
      { plane: 'sagittal', slice: 5 },
      { plane: 'coronal', slice: 11 },
      { plane: 'coronal', slice: 13 },
      { plane: 'coronal', slice: 15 },
      { plane: 'coronal', slice: 17 },
      { plane: 'axial', slice: 20 },
      { plane: 'axial', slice: 21 },
    ]);
    // One plane alone gives what chooseSlices gives along it (the coronal-only runs' slices).
    const coronal = sliceOf('coronal');
    expect(chooseSlicesPerPlane(['coronal'], sliceOf, new Set([5]), new Map([['coronal', 4]])).map((q) => q.slice)).toEqual(chooseSlices(coronal.slice, coronal.sliceCount, new Set([5]), 4));
  });
});
