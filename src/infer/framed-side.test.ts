import { describe, expect, it } from 'vitest';
import { applyToPoint, invert, multiply, type Vec3 } from '../core/affine';
import type { HippocampusBox } from '../core/fullhead';
import { mat4 } from '../core/volume';
import { segmentFramedSide } from './framed-side';
import { EDGE_FRACTION_WARNING, MSD_CROP_DIMS, WIDE_CROP_DIMS, type MaskGeometry } from './msd-frame';

/** A 120³ box at 1 mm (identity lattice): box voxels are world mm. */
const box: HippocampusBox = { side: 'left', label: 1, grid: { dims: [120, 120, 120], affine: mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]) }, inView: 1, centreMm: [60, 60, 60] };

/**
 * A "model" that finds a blunt-ended, hippocampus-like rod wherever the crop shows it: an
 * elliptic cylinder along j (centre and semi-axes in box voxels), its voxels inside the crop, as
 * a perfect model would draw them.
 */
function rodModel(centre: Vec3, semi: Vec3) {
  const crops: HippocampusBox[] = [];
  const run = async (frame: HippocampusBox) => {
    crops.push(frame);
    const toBox = multiply(invert(box.grid.affine), frame.grid.affine);
    const [nx, ny, nz] = frame.grid.dims;
    const mask = new Uint8Array(nx * ny * nz);
    for (let k = 0, n = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, n++) {
          const p = applyToPoint(toBox, [i, j, k]);
          const across = ((p[0] - centre[0]) / semi[0]) ** 2 + ((p[2] - centre[2]) / semi[2]) ** 2;
          mask[n] = across <= 1 && Math.abs(p[1] - centre[1]) <= semi[1] ? 1 : 0;
        }
      }
    }
    return { mask };
  };
  return { run, crops };
}

const edge = (g: MaskGeometry | null) => g?.edgeFraction ?? NaN;

describe('segmentFramedSide', () => {
  it('keeps the first MSD crop when the hippocampus is where it was expected and fits', async () => {
    const model = rodModel([60, 60, 60], [8, 18, 8]);
    const side = await segmentFramedSide(box, [60, 60, 60], model.run);
    expect(model.crops).toHaveLength(1);
    expect(side.frame.grid.dims).toEqual(MSD_CROP_DIMS);
    expect([side.recentred, side.widened]).toEqual([false, false]);
    expect(edge(side.geometry)).toBe(0);
  });

  it('cuts again around a mask that lands off-centre', async () => {
    const model = rodModel([65, 57, 62], [8, 18, 8]);
    const side = await segmentFramedSide(box, [60, 60, 60], model.run);
    expect(model.crops).toHaveLength(2);
    expect([side.recentred, side.widened]).toEqual([true, false]);
    expect(edge(side.geometry)).toBe(0);
  });

  it('segments a hippocampus longer than the MSD crop again in the wider crop, which cuts less of it', async () => {
    // 49 mm long (j): MSD's crop (50, with its centroid offset) cuts its anterior end; the wide crop (56) holds it.
    const model = rodModel([60, 60, 60], [8, 24.5, 8]);
    const side = await segmentFramedSide(box, [60, 60, 60], model.run);
    expect(model.crops.map((c) => c.grid.dims)).toEqual([MSD_CROP_DIMS, WIDE_CROP_DIMS]);
    expect([side.recentred, side.widened]).toEqual([false, true]);
    expect(side.frame.grid.dims).toEqual(WIDE_CROP_DIMS);
    expect(edge(side.geometry)).toBeLessThan(0.01);
  });

  it('a structure larger than both crops: the wider crop is kept, still on its faces (the caller warns)', async () => {
    const model = rodModel([60, 60, 60], [30, 40, 30]);
    const side = await segmentFramedSide(box, [60, 60, 60], model.run);
    expect(side.widened).toBe(true);
    expect(edge(side.geometry)).toBeGreaterThan(EDGE_FRACTION_WARNING);
  });

  it('keeps the MSD crop when the wider one is no better (here: the model finds nothing in it)', async () => {
    const model = rodModel([60, 60, 60], [8, 24.5, 8]);
    const blindWhenWide = async (frame: HippocampusBox) => {
      const answer = await model.run(frame);
      return frame.grid.dims === WIDE_CROP_DIMS ? { mask: new Uint8Array(answer.mask.length) } : answer;
    };
    const side = await segmentFramedSide(box, [60, 60, 60], blindWhenWide);
    expect(model.crops.at(-1)?.grid.dims).toEqual(WIDE_CROP_DIMS);
    expect(side.widened).toBe(false);
    expect(side.frame.grid.dims).toEqual(MSD_CROP_DIMS);
    expect(edge(side.geometry)).toBeGreaterThan(EDGE_FRACTION_WARNING);
  });
});
