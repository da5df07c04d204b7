import { describe, expect, it } from 'vitest';
import { rasAffine } from './orientation';
import { importanceMap, paddingFor, scanInterval, slidingWindowInference, windowPositions, windowStarts, type BlendMode } from './sliding-window';
import { voxelCount, type Dims3, type Volume } from './volume';

/** x(d, h, w) = sin(0.3 d) + cos(0.2 h) · w / 10, stored i-fastest (i = d). */
function testImage(dims: Dims3): Volume<Float32Array> {
  const data = new Float32Array(voxelCount(dims));
  let n = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[n++] = Math.sin(0.3 * i) + (Math.cos(0.2 * j) * k) / 10;
  return { dims, spacing: [1, 1, 1], affine: rasAffine([1, 1, 1], [0, 0, 0]), data };
}

/**
 * Two output channels: c · (d / roi_D) + (c + 1) · x, a position-dependent output so
 * that blending weights matter (the same predictor was given to MONAI).
 */
async function predictor(window: Float32Array, roi: Dims3): Promise<Float32Array> {
  const n = window.length;
  const out = new Float32Array(2 * n);
  const perD = roi[1] * roi[2];
  for (let c = 0; c < 2; c++)
    for (let t = 0; t < n; t++) out[c * n + t] = window[t] * (c + 1) + (c * Math.floor(t / perD)) / roi[0];
  return out;
}

describe('window layout (MONAI dense_patch_slices)', () => {
  it('steps by int(roi · (1 − overlap)) and shifts the last window back to the edge', () => {
    expect(scanInterval([23, 17, 11], [8, 8, 8], 0.5)).toEqual([4, 4, 4]);
    expect(scanInterval([8, 20, 9], [8, 8, 8], 0.25)).toEqual([8, 6, 6]);
    expect(windowStarts(23, 8, 4)).toEqual([0, 4, 8, 12, 15]);
    expect(windowStarts(8, 8, 8)).toEqual([0]);
    expect(windowStarts(35, 32, 16)).toEqual([0, 3]);
    expect(windowPositions([5, 12, 6], [8, 8, 8], 0.5)).toEqual([
      [0, 0, 0],
      [0, 4, 0],
    ]);
    expect(paddingFor([5, 12, 6], [8, 8, 8])).toEqual([
      [1, 2],
      [0, 0],
      [1, 1],
    ]);
    expect(() => scanInterval([8, 8, 8], [8, 8, 8], 1)).toThrow(/overlap/);
  });

  it('Gaussian importance: σ = roi/8, peak at the centre, floored at 1e-3', () => {
    const map = importanceMap([8, 8, 8], 'gaussian');
    const at = (i: number, j: number, k: number) => map[(i * 8 + j) * 8 + k];
    // exp(−(0.5)² / (2 · 1²))³ at the four central voxels of an even window.
    expect(at(3, 3, 3)).toBeCloseTo(Math.exp(-0.125) ** 3, 6);
    expect(at(4, 4, 4)).toBe(at(3, 3, 3));
    // The corner weight exp(−3.5²/2)³ ≈ 1e-8 is raised to MONAI's floor.
    expect(at(0, 0, 0)).toBe(Math.fround(1e-3));
    expect(Math.min(...map)).toBe(Math.fround(1e-3));
    expect(importanceMap([2, 3, 4], 'constant').every((w) => w === 1)).toBe(true);
  });
});

describe('slidingWindowInference agrees with MONAI 1.5 sliding_window_inference', () => {
  // Reference: MONAI 1.5.0 (commit d388d1c6) on torch 1.13, the same image and predictor,
  // sw_batch_size 1. Recorded: Σ out, Σ out · ((flat index mod 97) + 1) over the output
  // flattened channel-major and i-fastest, and out[c, i, j, k] at five voxels.
  const cases: {
    name: string;
    dims: Dims3;
    roi: Dims3;
    overlap: number;
    blend: BlendMode;
    sum: number;
    weighted: number;
    samples: number[];
  }[] = [
    { name: 'overlapping windows', dims: [23, 17, 11], roi: [8, 8, 8], overlap: 0.5, blend: 'gaussian', sum: 1950.3083202550188, weighted: 102571.55274027598, samples: [0.0, 2.039553165435791, -0.6867533922195435, 0.03421777859330177, 0.7160404324531555] },
    { name: 'image smaller than the window (padding)', dims: [5, 12, 6], roi: [8, 8, 8], overlap: 0.5, blend: 'gaussian', sum: 786.596014007926, weighted: 37759.08223526692, samples: [0.0, 2.16455340385437, 0.6377885341644287, 1.7216997146606445, 0.8410404324531555] },
    { name: 'constant blending, overlap 0.25', dims: [23, 17, 11], roi: [8, 8, 8], overlap: 0.25, blend: 'constant', sum: 1951.3689565625973, weighted: 102583.34751656977, samples: [0.0, 2.03955340385437, -0.6867533922195435, 0.2803090810775757, 0.7160404324531555] },
    { name: 'anisotropic window', dims: [9, 20, 7], roi: [6, 8, 4], overlap: 0.5, blend: 'gaussian', sum: 2913.971396640176, weighted: 142433.8292824824, samples: [0.0, 2.1228866577148438, 0.20088255405426025, 2.0310566425323486, 0.7577071189880371] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const out = await slidingWindowInference(testImage(c.dims), c.roi, predictor, { overlap: c.overlap, blend: c.blend });
      expect(out.channels).toBe(2);
      let sum = 0;
      let weighted = 0;
      out.data.forEach((v, n) => {
        sum += v;
        weighted += v * ((n % 97) + 1);
      });
      // Both sides accumulate in float32 in different orders: relative 1e-6 per value, so
      // sums of ~10⁴ values of magnitude ≤ 3 agree to ~1e-5 relative.
      expect(Math.abs(sum - c.sum) / Math.abs(c.sum)).toBeLessThan(1e-5);
      expect(Math.abs(weighted - c.weighted) / Math.abs(c.weighted)).toBeLessThan(1e-5);
      const [nx, ny, nz] = c.dims;
      const plane = nx * ny * nz;
      const at = (ch: number, i: number, j: number, k: number) => out.data[ch * plane + i + nx * (j + ny * k)];
      const got = [at(0, 0, 0, 0), at(1, 2, 3, 4), at(0, nx - 1, ny - 1, nz - 1), at(1, nx >> 1, ny >> 1, nz >> 1), at(1, 1, ny - 2, 0)];
      got.forEach((v, n) => expect(Math.abs(v - c.samples[n])).toBeLessThan(1e-5));
    });
  }
});

describe('progress and cancellation', () => {
  it('reports every window and stops between windows when aborted', async () => {
    const seen: [number, number][] = [];
    await slidingWindowInference(testImage([23, 17, 11]), [8, 8, 8], predictor, { onWindow: (i, n) => seen.push([i, n]) });
    expect(seen.length).toBe(5 * 4 * 2);
    expect(seen.at(-1)).toEqual([39, 40]);

    const controller = new AbortController();
    let calls = 0;
    const run = slidingWindowInference(
      testImage([23, 17, 11]),
      [8, 8, 8],
      async (w, roi) => {
        if (++calls === 3) controller.abort(new Error('stopped by the user'));
        return predictor(w, roi);
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toThrow('stopped by the user');
    expect(calls).toBe(3);
  });

  it('rejects a model output of the wrong size', async () => {
    await expect(slidingWindowInference(testImage([8, 8, 8]), [8, 8, 8], async () => new Float32Array(7))).rejects.toThrow(/returned 7 values/);
  });
});
