import { describe, expect, it } from 'vitest';
import { boxOfDrags, SINGLE_DRAG_PAD, type SliceDrag } from './drag-box';

// An LIA-like grid: coronal slices hold voxel axis 2 fixed, sagittal axis 0, axial axis 1.
const coronal = (s: number, i0: number, j0: number, i1: number, j1: number): SliceDrag => ({ plane: 'coronal', sliceAxis: 2, a: [i0, j0, s], b: [i1, j1, s] });
const sagittal = (s: number, j0: number, k0: number, j1: number, k1: number): SliceDrag => ({ plane: 'sagittal', sliceAxis: 0, a: [s, j0, k0], b: [s, j1, k1] });
const dims = [256, 256, 256] as const;
const axial = (s: number, i0: number, k0: number, i1: number, k1: number): SliceDrag => ({ plane: 'axial', sliceAxis: 1, a: [i0, s, k0], b: [i1, s, k1] });

describe('boxOfDrags', () => {
  it('takes each axis from the drag across it, and the union where both are', () => {
    // Coronal: i 40–60, j (up–down) 100–120 on slice k = 130; sagittal: j 95–115, k 120–150 on slice i = 50.
    const box = boxOfDrags(17, [coronal(130, 60, 120, 40, 100), sagittal(50, 95, 150, 115, 120)], dims, 0);
    expect(box).toEqual({ label: 17, lo: [40, 95, 120], hi: [60, 120, 150] });
  });

  it('widens each axis one drag alone sets by SINGLE_DRAG_PAD of its length each side, inside the grid', () => {
    expect(SINGLE_DRAG_PAD).toBe(0.1);
    // i 40–60 (21 voxels: 2 each side) from the coronal drag alone, k 120–150 (31: 3 each side) from the sagittal alone; j from both.
    expect(boxOfDrags(17, [coronal(130, 60, 120, 40, 100), sagittal(50, 95, 150, 115, 120)], dims)).toEqual({ label: 17, lo: [38, 95, 117], hi: [62, 120, 153] });
    // At the grid's edge the box stops there.
    expect(boxOfDrags(17, [coronal(20, 0, 100, 20, 120), sagittal(10, 95, 0, 115, 30)], dims)).toEqual({ label: 17, lo: [0, 95, 0], hi: [22, 120, 33] });
  });

  it('is the same whichever drag came first', () => {
    const c = coronal(130, 40, 100, 60, 120);
    const x = axial(110, 45, 125, 58, 140);
    expect(boxOfDrags(53, [c, x], dims)).toEqual(boxOfDrags(53, [x, c], dims));
    expect(boxOfDrags(53, [c, x], dims, 0)).toEqual({ label: 53, lo: [40, 100, 125], hi: [60, 120, 140] });
  });

  it('refuses two drags on one plane', () => {
    expect(() => boxOfDrags(17, [coronal(130, 40, 100, 60, 120), coronal(131, 40, 100, 60, 120)], dims)).toThrow(/two boxes are on coronal slices/);
  });

  it('refuses two rectangles that do not meet, naming the slice and the range', () => {
    // The sagittal slice i = 70 is right of the coronal box (i 40–60).
    expect(() => boxOfDrags(17, [coronal(130, 40, 100, 60, 120), sagittal(70, 95, 120, 115, 150)], dims)).toThrow(/the sagittal box is on slice 70, outside the coronal box's range 40–60/);
    // The coronal slice k = 160 is past the sagittal box's k 120–150.
    expect(() => boxOfDrags(17, [coronal(160, 40, 100, 60, 120), sagittal(50, 95, 120, 115, 150)], dims)).toThrow(/the coronal box is on slice 160, outside the sagittal box's range 120–150/);
  });

  it('takes three drags, one per view: every axis the union of the two across it, none widened', () => {
    // Coronal: i 40–60, j 100–120 on k = 130; sagittal: j 95–115, k 120–150 on i = 50; axial: i 38–58, k 125–155 on j = 110.
    const three = [coronal(130, 40, 100, 60, 120), sagittal(50, 95, 120, 115, 150), axial(110, 38, 125, 58, 155)];
    expect(boxOfDrags(17, three, dims)).toEqual({ label: 17, lo: [38, 95, 120], hi: [60, 120, 155] });
    expect(boxOfDrags(17, [three[2], three[0], three[1]], dims)).toEqual(boxOfDrags(17, three, dims));
  });

  it('refuses a third drag that does not meet the others, a second drag on one plane, and one drag or four', () => {
    const c = coronal(130, 40, 100, 60, 120);
    const x = sagittal(50, 95, 120, 115, 150);
    // The axial slice j = 130 is above both the coronal (j 100–120) and the sagittal (j 95–115) box.
    expect(() => boxOfDrags(17, [c, x, axial(130, 38, 125, 58, 155)], dims)).toThrow(/the axial box is on slice 130, outside the coronal box's range 100–120/);
    expect(() => boxOfDrags(17, [c, x, sagittal(52, 95, 120, 115, 150)], dims)).toThrow(/two boxes are on sagittal slices/);
    expect(() => boxOfDrags(17, [c], dims)).toThrow(/two or three drags, one per view; got 1/);
    expect(() => boxOfDrags(17, [c, x, axial(110, 38, 125, 58, 155), c], dims)).toThrow(/got 4/);
  });
});
