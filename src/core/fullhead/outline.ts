import { invert, multiply } from '../affine';
import type { Grid } from '../resample';
import type { LabelVolume, Mat4 } from '../volume';
import { spacingFromAffine } from '../affine';
import { outline6 } from './mask';
import type { Template } from './template';
import { FRACTION_SCALE } from './template-build';

/** Label values of the outline overlay. */
export const OUTLINE_BRAIN = 1;
export const OUTLINE_HIPPOCAMPUS = 2;

/**
 * What the registration believes, drawn on the scan: the template's brain outline
 * (label 1) and AAL's hippocampus outlines (label 2) mapped through `transform`
 * (template world → scan world) onto `grid` (the scan's own grid, for a NiiVue overlay).
 * A person sees at a glance whether the outline hugs the brain; when it does not, the
 * localisation failed whatever the numbers say.
 */
export function templateOutline(template: Template, transform: Mat4, grid: Grid): LabelVolume {
  const [nx, ny, nz] = grid.dims;
  const brain = template.brain;
  const hippo = template.hippocampus;
  const toBrain = multiply(multiply(invert(brain.affine), invert(transform)), grid.affine);
  const toHippo = multiply(multiply(invert(hippo.affine), invert(transform)), grid.affine);
  const inBrain = new Uint8Array(nx * ny * nz);
  const inHippo = new Uint8Array(nx * ny * nz);
  const half = FRACTION_SCALE / 2;
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        inBrain[n] = lookup(brain.data, brain.dims, toBrain, i, j, k) >= half ? 1 : 0;
        if (inBrain[n]) inHippo[n] = lookup(hippo.data, hippo.dims, toHippo, i, j, k) > 0 ? 1 : 0;
      }
    }
  }
  const brainEdge = outline6(inBrain, grid.dims);
  const hippoEdge = outline6(inHippo, grid.dims);
  const data = new Uint8Array(nx * ny * nz);
  for (let n = 0; n < data.length; n++) data[n] = hippoEdge[n] ? OUTLINE_HIPPOCAMPUS : brainEdge[n] ? OUTLINE_BRAIN : 0;
  return { dims: grid.dims, affine: grid.affine, spacing: spacingFromAffine(grid.affine), data };
}

/** Nearest-neighbour value at grid voxel (i, j, k) mapped by m into a volume; 0 outside. */
function lookup(data: Uint8Array, dims: readonly number[], m: Mat4, i: number, j: number, k: number): number {
  const x = Math.round(m[0] * i + m[1] * j + m[2] * k + m[3]);
  const y = Math.round(m[4] * i + m[5] * j + m[6] * k + m[7]);
  const z = Math.round(m[8] * i + m[9] * j + m[10] * k + m[11]);
  if (x < 0 || y < 0 || z < 0 || x >= dims[0] || y >= dims[1] || z >= dims[2]) return 0;
  return data[x + dims[0] * (y + dims[1] * z)];
}
