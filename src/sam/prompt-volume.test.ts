import { describe, expect, it } from 'vitest';
import { isFusedBox, MIN_FUSED_EXTENT, REFINE_MARGIN_PX, refinedBox } from './prompt-volume';

/** A width × height mask with the given pixels set. */
function mask(width: number, height: number, pixels: [number, number][]): Uint8Array {
  const m = new Uint8Array(width * height);
  for (const [x, y] of pixels) m[x + width * y] = 1;
  return m;
}

describe('refinedBox: the second prompt of a 3-D box’s slice', () => {
  const rect = { x0: 2, y0: 3, x1: 17, y1: 12 };

  it('is the first mask’s bounding box inside the rectangle, grown by the margin', () => {
    const m = mask(20, 16, [[8, 6], [11, 9], [9, 7]]);
    expect(REFINE_MARGIN_PX).toBe(2);
    expect(refinedBox(m, 20, rect)).toEqual({ x0: 6, y0: 4, x1: 13, y1: 11 });
    expect(refinedBox(m, 20, rect, 0)).toEqual({ x0: 8, y0: 6, x1: 11, y1: 9 });
  });

  it('stays inside the rectangle, and ignores mask pixels outside it', () => {
    const m = mask(20, 16, [[3, 4], [16, 11], [0, 0], [19, 15], [10, 2]]);
    expect(refinedBox(m, 20, rect)).toEqual(rect);
    expect(refinedBox(mask(20, 16, [[17, 12]]), 20, rect)).toEqual({ x0: 15, y0: 10, x1: 17, y1: 12 });
  });

  it('is null when the mask has no pixel inside the rectangle', () => {
    expect(refinedBox(mask(20, 16, [[0, 0], [19, 15], [1, 3]]), 20, rect)).toBeNull();
    expect(refinedBox(new Uint8Array(320), 20, rect)).toBeNull();
  });
});

describe('isFusedBox: which boxes threePlanes prompts on all three planes', () => {
  it(`a box ${MIN_FUSED_EXTENT} voxels or more along every axis; a thinner one (a slice, a strip) stays on its plane`, () => {
    expect(isFusedBox({ label: 1, lo: [10, 20, 30], hi: [12, 22, 32] })).toBe(true);
    expect(isFusedBox({ label: 1, lo: [10, 20, 30], hi: [40, 50, 31] })).toBe(false);
    expect(isFusedBox({ label: 1, lo: [10, 20, 30], hi: [11, 50, 60] })).toBe(false);
    expect(isFusedBox({ label: 1, lo: [10, 20, 30], hi: [40, 20, 60] })).toBe(false);
  });
});
