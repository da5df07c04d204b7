import { describe, expect, it } from 'vitest';
import { identity4, mat4 } from '../volume';
import type { Template } from './template';
import { OUTLINE_BRAIN, OUTLINE_HIPPOCAMPUS, templateOutline } from './outline';

/** A toy template: a brain ball of radius 10 voxels (2 mm) with a small "hippocampus" cube inside. */
function toyTemplate(): Template {
  const n = 32;
  const affine = mat4([2, 0, 0, -32, 0, 2, 0, -32, 0, 0, 2, -32, 0, 0, 0, 1]);
  const brain = new Uint8Array(n ** 3);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    if (Math.hypot(i - 16, j - 16, k - 16) <= 10) brain[i + n * (j + n * k)] = 255;
  }
  const hippo = new Uint8Array(4 * 4 * 4).fill(1);
  return {
    t1: { dims: [n, n, n], affine, spacing: [2, 2, 2], data: brain },
    brain: { dims: [n, n, n], affine, spacing: [2, 2, 2], data: brain },
    hippocampus: { dims: [4, 4, 4], affine: mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), spacing: [1, 1, 1], data: hippo },
  };
}

describe('templateOutline', () => {
  it('draws the mapped brain surface and the hippocampus outline on the scan grid', () => {
    const t = toyTemplate();
    // A 1 mm scan grid; the template is shifted 5 mm right in the scan (transform template → scan).
    const grid = { dims: [80, 80, 80] as const, affine: mat4([1, 0, 0, -40, 0, 1, 0, -40, 0, 0, 1, -40, 0, 0, 0, 1]) };
    const shift = mat4([1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const out = templateOutline(t, shift, grid);
    const at = (x: number, y: number, z: number) => out.data[x + 40 + 80 * (y + 40 + 80 * (z + 40))];
    // The ball (centre 0 mm, radius 20 mm) moved to x = 5: its surface along x is at x ≈ −15 and 25.
    const alongX = [...Array(80).keys()].map((i) => i - 40).filter((x) => at(x, 0, 0) === OUTLINE_BRAIN);
    expect(Math.min(...alongX)).toBeGreaterThanOrEqual(-16);
    expect(Math.min(...alongX)).toBeLessThanOrEqual(-14);
    expect(Math.max(...alongX)).toBeGreaterThanOrEqual(24);
    expect(Math.max(...alongX)).toBeLessThanOrEqual(26);
    expect(at(0, 0, 0)).toBe(0); // inside the brain: no line
    // The 4 mm hippocampus cube (voxel centres at world 0…3 mm) lands at x 5…8, y and z 0…3:
    // its faces are outlined, its inside and the brain around it are not.
    expect(at(5, 0, 0)).toBe(OUTLINE_HIPPOCAMPUS);
    expect(at(8, 3, 3)).toBe(OUTLINE_HIPPOCAMPUS);
    expect(at(6, 1, 1)).toBe(0);
    expect(at(9, 1, 1)).toBe(0);
  });

  it('an identity map on the template grid reproduces its outline', () => {
    const t = toyTemplate();
    const out = templateOutline(t, identity4(), { dims: t.brain.dims, affine: t.brain.affine });
    const shell = out.data.filter((v) => v !== 0).length;
    // A voxelised ball of radius 10 has a 6-connected shell of ≈ 4πr²·(≈0.8) voxels.
    expect(shell).toBeGreaterThan(700);
    expect(shell).toBeLessThan(1300);
  });
});
