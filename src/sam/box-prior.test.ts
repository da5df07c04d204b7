import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mat4, type Dims3, type Mat4 } from '../core/volume';
import { BOX_PRIOR_FILE, BOX_PRIOR_WEIGHT, boxOccupancy, boxPriorLogOdds, buildBoxPrior, decodeBoxPrior, encodeBoxPrior, labelsWithPrior, priorSkipped, boxSizeMm, PRIOR_FLOOR, type BoxPriorFile, type LabelMap } from './box-prior';
import { labelBox } from './label-boxes';
import { readBoxPrior, samModelsDir } from './model-files-node';
import { DEFAULT_SAM_STRUCTURES } from './training-data';

const CODE = 17;

/**
 * A lopsided structure on a 40³ RAS grid (1 mm, identity affine): a wedge that is wide at its
 * right (+x), posterior (−y) and superior (+z) end, so that any flipped or swapped axis moves it.
 */
function wedgeRas(): LabelMap {
  const n = 40;
  const data = new Uint8Array(n ** 3);
  for (let z = 10; z < 30; z++) {
    for (let y = 8; y < 32; y++) {
      for (let x = 12; x < 28; x++) {
        const fx = (x - 12) / 15, fy = (31 - y) / 23, fz = (z - 10) / 19;
        if (fx + fy + fz > 1.2) data[x + n * (y + n * z)] = CODE;
      }
    }
  }
  return { dims: [n, n, n], affine: mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), data };
}

/**
 * The same head stored LIA (FreeSurfer's conformed order): voxel axis 0 runs to the left, 1 to
 * inferior, 2 to anterior; the affine keeps every voxel at its world position.
 */
function toLia(ras: LabelMap): LabelMap {
  const n = ras.dims[0];
  const data = new Uint8Array(n ** 3);
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const [i, j, k] = [n - 1 - x, n - 1 - z, y];
        data[i + n * (j + n * k)] = ras.data[x + n * (y + n * z)];
      }
  // world x = n−1−i, y = k, z = n−1−j
  const affine: Mat4 = mat4([-1, 0, 0, n - 1, 0, 0, 1, 0, 0, -1, 0, n - 1, 0, 0, 0, 1]);
  return { dims: [n, n, n] as Dims3, affine, data };
}

function dice(a: ArrayLike<boolean | number>, b: ArrayLike<boolean | number>): number {
  let inter = 0, na = 0, nb = 0;
  for (let q = 0; q < a.length; q++) {
    na += +!!a[q];
    nb += +!!b[q];
    inter += +(!!a[q] && !!b[q]);
  }
  return (2 * inter) / (na + nb);
}

describe('box prior: a structure’s occupancy over its box, along world axes', () => {
  it('is the same grid whatever the voxel order of the label map (RAS or LIA)', () => {
    const ras = wedgeRas();
    const lia = toLia(ras);
    for (const margin of [0, 2]) {
      const a = boxOccupancy(ras, CODE, labelBox(ras.data, ras.dims, CODE)!, margin, 12);
      const b = boxOccupancy(lia, CODE, labelBox(lia.data, lia.dims, CODE)!, margin, 12);
      let worst = 0;
      for (let q = 0; q < a.length; q++) worst = Math.max(worst, Math.abs(a[q] - b[q]));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('runs along R, A, S: the wedge’s wide right-posterior-superior corner is inside, the opposite corner is not', () => {
    const ras = wedgeRas();
    const g = 8;
    const occ = boxOccupancy(ras, CODE, labelBox(ras.data, ras.dims, CODE)!, 0, g);
    const at = (i: number, j: number, k: number) => occ[i + g * (j + g * k)];
    expect(at(g - 1, 0, g - 1)).toBe(1); // +x (R), −y (P), +z (S)
    expect(at(0, g - 1, 0)).toBe(0);
  });

  it('looked up in the box on the map it came from, its log-odds above 0 give the structure back, in either voxel order', () => {
    for (const map of [wedgeRas(), toLia(wedgeRas())]) {
      const margin = 2;
      const prior = buildBoxPrior([map], [CODE], [margin], 16);
      const box = labelBox(map.data, map.dims, CODE, margin)!;
      const odds = boxPriorLogOdds(prior, box, map.affine)!;
      const size = [0, 1, 2].map((a) => box.hi[a] - box.lo[a] + 1);
      const truth = new Uint8Array(odds.length);
      for (let k = 0; k < size[2]; k++)
        for (let j = 0; j < size[1]; j++)
          for (let i = 0; i < size[0]; i++) {
            const v = box.lo[0] + i + map.dims[0] * (box.lo[1] + j + map.dims[1] * (box.lo[2] + k));
            truth[i + size[0] * (j + size[1] * k)] = +(map.data[v] === CODE);
          }
      const d = dice(Array.from(odds, (o) => o > 0), truth);
      expect(d).toBeGreaterThan(0.9);
      // The same box on the other corner of the grid's voxel order: the wedge mirrored, far worse.
      const mirrored = Array.from({ length: odds.length }, (_, q) => {
        const i = q % size[0];
        return odds[size[0] - 1 - i + (q - i)] > 0;
      });
      expect(dice(mirrored, truth)).toBeLessThan(d - 0.2);
    }
  });

  it('log-odds: weighted, floored at PRIOR_FLOOR, null for a structure it lacks', () => {
    const map = wedgeRas();
    const prior = buildBoxPrior([map], [CODE], [0], 8);
    const box = labelBox(map.data, map.dims, CODE)!;
    const odds = boxPriorLogOdds(prior, box, map.affine)!;
    const floor = BOX_PRIOR_WEIGHT * Math.log(PRIOR_FLOOR / (1 - PRIOR_FLOOR));
    expect(Math.min(...odds)).toBeCloseTo(floor, 4);
    expect(Math.max(...odds)).toBeCloseTo(-floor, 4);
    const half = boxPriorLogOdds(prior, box, map.affine, 1.5)!;
    expect(half[0]).toBeCloseTo(odds[0] / 2, 4);
    expect(boxPriorLogOdds(prior, { ...box, label: 53 }, map.affine)).toBeNull();
  });

  it('applies to 3-D boxes of its structures about the size it learned; not to a thin box, another label, or a box far smaller or larger', () => {
    const map = wedgeRas();
    const prior = buildBoxPrior([map], [CODE], [0, 2], 4);
    const box = labelBox(map.data, map.dims, CODE, 1)!;
    const thin = { ...box, hi: [box.hi[0], box.hi[1], box.lo[2] + 1] as const };
    const small = { label: CODE, lo: box.lo, hi: [box.lo[0] + 4, box.lo[1] + 4, box.lo[2] + 4] as const };
    const large = { label: CODE, lo: [0, 0, 0] as const, hi: [39, 39, 39] as const };
    expect(labelsWithPrior(prior, [box, thin, { ...box, label: 53 }], map.affine)).toEqual([CODE]);
    expect(labelsWithPrior(prior, [thin, small, large], map.affine)).toEqual([]);
    expect(priorSkipped(prior, [small, large, thin, { ...box, label: 53 }], map.affine)).toEqual([
      expect.stringMatching(/^box 17 is 5 × 5 × 5 mm \(R × A × S\), outside the \d+ × \d+ × \d+ to \d+ × \d+ × \d+ mm boxes/),
      expect.stringMatching(/^box 17 is 40 × 40 × 40 mm/),
    ]);
    expect(boxPriorLogOdds(prior, small, map.affine)).toBeNull();
    expect(boxPriorLogOdds(prior, box, map.affine)).not.toBeNull();
  });

  it('box sizes are in millimetres along R, A, S, whatever the voxel order and voxel size', () => {
    // LIA with voxels of 1, 2 and 3 mm: voxel axis 0 runs R–L, axis 1 S–I, axis 2 A–P.
    const affine = mat4([-1, 0, 0, 0, 0, 0, 3, 0, 0, -2, 0, 0, 0, 0, 0, 1]);
    expect(boxSizeMm({ lo: [0, 0, 0], hi: [9, 19, 29] }, affine)).toEqual([10, 90, 40]);
  });

  it('a file round-trips within half a byte step; a wrong format or size is refused', () => {
    const prior = buildBoxPrior([wedgeRas()], [CODE], [0, 1], 8);
    const file = encodeBoxPrior(prior, { description: 'd', source: 's', licence: 'l', command: 'c' });
    const back = decodeBoxPrior(JSON.parse(JSON.stringify(file)) as BoxPriorFile);
    expect(back.grid).toBe(8);
    expect(back.margins).toEqual([0, 1]);
    const a = prior.structures.get(CODE)!;
    const b = back.structures.get(CODE)!;
    for (let q = 0; q < a.length; q++) expect(Math.abs(a[q] - b[q])).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
    expect(() => decodeBoxPrior({ ...file, format: 'x' } as unknown as BoxPriorFile)).toThrow(/not a Seahorse SAM box prior/);
    expect(() => decodeBoxPrior({ ...file, grid: 9 })).toThrow(/512 cells, expected 9³/);
  });
});

const labelMaps = join(import.meta.dirname, '../../../shared/data/synthseg_label_maps');

describe('the shipped box prior (models/sam/box-prior.json)', () => {
  it('holds the twelve structures on a 16³ grid, margins 0–4, with its provenance', () => {
    const file = JSON.parse(readFileSync(join(samModelsDir, BOX_PRIOR_FILE), 'utf8')) as BoxPriorFile;
    expect(file).toMatchObject({ grid: 16, margins: [0, 1, 2, 3, 4], axes: 'RAS, x fastest', command: 'npx tsx scripts/make-sam-box-prior.ts' });
    expect(file.licence).toMatch(/Apache-2.0/);
    expect(Object.keys(file.structures).map(Number).sort((a, b) => a - b)).toEqual([...DEFAULT_SAM_STRUCTURES].sort((a, b) => a - b));
    const prior = readBoxPrior();
    // A thalamus fills the middle of its box; a caudate, curved, leaves it far emptier.
    const centre = (code: number) => prior.structures.get(code)![8 + 16 * (8 + 16 * 8)];
    expect(centre(10)).toBeGreaterThan(0.9);
    expect(centre(11)).toBeLessThan(centre(10));
  });

  it.skipIf(!existsSync(labelMaps))('is exactly what scripts/make-sam-box-prior.ts makes from the label maps', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'seahorse-box-prior-')), BOX_PRIOR_FILE);
    execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../scripts/make-sam-box-prior.ts'), labelMaps, out], { stdio: 'pipe' });
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(samModelsDir, BOX_PRIOR_FILE), 'utf8'));
  }, 120_000);
});
