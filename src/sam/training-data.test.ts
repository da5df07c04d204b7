/** What SAM fine-tuning trains on (src/sam/training-data.ts): structure codes and slice choice; no model. */
import { describe, expect, it } from 'vitest';
import { chooseSlices, DEFAULT_SAM_STRUCTURES, parseStructures, presentStructures } from './training-data';

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
});
