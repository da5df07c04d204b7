import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyToPoint } from '../affine';
import { readVolume } from '../io';
import { dataDir, hasShared, sharedMissing } from '../../testing/shared';
import type { Volume } from '../volume';
import { templateBrainMm3 } from './template';
import { LEFT, RIGHT, templateBrain, templateHippocampus, templateT1 } from './template-build';
import { readTemplate } from './template-node';

const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);
const sameVolume = (a: Volume, b: Volume) => {
  expect(a.dims).toEqual(b.dims);
  expect(Array.from(a.affine)).toEqual(Array.from(b.affine));
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
};
/** ch2bet (the brain mask's source) ships only in Debian's mricron-data package. */
const mricron = '/usr/share/mricron/templates';

describe('shipped templates (models/templates)', () => {
  const template = readTemplate();

  it('hold a 2 mm T1 and brain fraction on one grid, and 1 mm hippocampus labels 1/2', () => {
    expect(template.t1.spacing).toEqual([2, 2, 2]);
    expect(template.brain.dims).toEqual(template.t1.dims);
    const labels = new Set(template.hippocampus.data);
    expect([...labels].sort()).toEqual([0, LEFT, RIGHT]);
    // Colin27's brain (ch2bet) is 1.74 L in MNI space.
    expect(templateBrainMm3(template)).toBeGreaterThan(1.6e6);
    expect(templateBrainMm3(template)).toBeLessThan(1.9e6);
  });

  it('put the left hippocampus at negative x (RAS) and the right one at positive x', () => {
    const h = template.hippocampus;
    const [nx, ny, nz] = h.dims;
    const sumX = { [LEFT]: 0, [RIGHT]: 0 };
    const count = { [LEFT]: 0, [RIGHT]: 0 };
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const v = h.data[i + nx * (j + ny * k)] as typeof LEFT | typeof RIGHT | 0;
          if (v === 0) continue;
          sumX[v] += applyToPoint(h.affine, [i, j, k])[0];
          count[v]++;
        }
      }
    }
    expect(sumX[LEFT] / count[LEFT]).toBeLessThan(-20);
    expect(sumX[RIGHT] / count[RIGHT]).toBeGreaterThan(20);
  });

  it.skipIf(!hasShared)(`are exactly what template-build derives from ch2 and AAL ${hasShared ? '' : sharedMissing}`, () => {
    sameVolume(template.t1, templateT1(read(join(dataDir, 'templates', 'ch2.nii.gz'))));
    sameVolume(template.hippocampus, templateHippocampus(read(join(dataDir, 'templates', 'aal.nii.gz'))));
  });

  it.skipIf(!existsSync(join(mricron, 'ch2bet.nii.gz')))('brain fraction is what template-build derives from ch2bet (apt-get install mricron-data)', () => {
    sameVolume(template.brain, templateBrain(read(join(mricron, 'ch2bet.nii.gz'))));
  });
});
