import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyToPoint, multiply } from '../affine';
import { readVolume } from '../io';
import { buildPyramid } from '../registration/levels';
import { prepareFixed, registerAffine } from '../registration/register';
import { hasShared, msdDir, sharedMissing } from '../../testing/shared';
import type { Mat4, Volume } from '../volume';
import { mat4 } from '../volume';
import { boxToConformed } from './roi';
import { LEFT, RIGHT } from './template-build';
import { readTemplate } from './template-node';

/**
 * The finding behind MSD_ORIENTATION, kept true: an MSD crop fits Colin27 at the left
 * hippocampus as a RAS box and at the right one as the mirrored (LAS) box — the boxes
 * the pipeline cuts — and fits clearly worse in the other orientations (right box
 * unmirrored, anterior–posterior or superior–inferior flipped, axes swapped).
 * Found first over all 48 axis orders and signs on 8 base_train crops (each crop's best
 * pair was RAS@left / LAS@right, NCC 0.65–0.77; the next orientation ≤ 0.55).
 */

type Side = 'left' | 'right';

/** Crop voxel → template world: the box orientation, placed with the labels' centre on the AAL centre. */
function placed(labels: Volume, linear: Mat4, aalCentre: readonly number[]): Mat4 {
  const c = centroid(labels, (v) => v > 0);
  const p = applyToPoint(linear, c);
  return multiply(mat4([1, 0, 0, aalCentre[0] - p[0], 0, 1, 0, aalCentre[1] - p[1], 0, 0, 1, aalCentre[2] - p[2], 0, 0, 0, 1]), linear);
}

function centroid(v: Volume, keep: (x: number) => boolean): [number, number, number] {
  const [nx, ny, nz] = v.dims;
  const s = [0, 0, 0];
  let n = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (!keep(v.data[i + nx * (j + ny * k)])) continue;
        s[0] += i;
        s[1] += j;
        s[2] += k;
        n++;
      }
    }
  }
  return [s[0] / n, s[1] / n, s[2] / n];
}

/** The pipeline's box orientation for a side, as a crop voxel → world linear map (1 mm). */
function boxOrientation(dims: readonly [number, number, number], side: Side): Mat4 {
  const m = boxToConformed([0, 0, 0], dims, side);
  return mat4([m[0], m[1], m[2], 0, m[4], m[5], m[6], 0, m[8], m[9], m[10], 0, 0, 0, 0, 1]);
}

const FLIP_Y = mat4([1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
const FLIP_Z = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1]);
const SWAP_JK = mat4([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);

describe.skipIf(!hasShared)(`MSD crop orientation ${hasShared ? '' : sharedMissing}`, () => {
  it('MSD crops fit the template as the pipeline cuts its boxes, and not otherwise', () => {
    const template = readTemplate();
    const moving = buildPyramid(template.t1, [2]);
    const aal = { left: centroidWorld(template.hippocampus, LEFT), right: centroidWorld(template.hippocampus, RIGHT) };
    const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>;
    // Crops from the validation set and the few-shot pool: not the ones the finding was made on.
    const cases = [...split.val.slice(0, 3), ...split.fewshot_pool.slice(0, 2)];
    for (const name of cases) {
      const read = (dir: string) => readVolume(new Uint8Array(readFileSync(join(msdDir, dir, name))), name);
      const crop = read('images');
      const labels = read('labels');
      const ncc = (side: Side, linear: Mat4) => {
        const affine = placed(labels, linear, aal[side]);
        const fixed = prepareFixed(buildPyramid({ ...crop, affine }, [2]));
        return registerAffine(fixed, moving, { schedule: [{ maxIterations: 15 }] }).ncc;
      };
      const left = boxOrientation(crop.dims, 'left');
      const right = boxOrientation(crop.dims, 'right');
      const expected = Math.min(ncc('left', left), ncc('right', right));
      const others = [
        ncc('right', left), // a right hippocampus cut without the mirror
        ncc('left', right), // a left one mirrored
        ncc('left', multiply(left, FLIP_Y)),
        ncc('left', multiply(left, FLIP_Z)),
        ncc('left', multiply(left, SWAP_JK)),
      ];
      // Measured margins were ≥ 0.17; 0.08 leaves room for crop-to-crop variation while a
      // wrong orientation (which scores like the others, 0.35–0.55) still fails.
      expect(expected, name).toBeGreaterThan(0.55);
      expect(expected - Math.max(...others), name).toBeGreaterThan(0.08);
    }
  });
});

function centroidWorld(v: Volume, label: number): [number, number, number] {
  return applyToPoint(v.affine, centroid(v, (x) => x === label));
}
