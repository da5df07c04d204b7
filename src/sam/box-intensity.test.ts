import { describe, expect, it } from 'vitest';
import { uniformStream } from '../core/random';
import { mat4, type Dims3 } from '../core/volume';
import { anatomyScorer } from './anatomy-scores';
import { boxIntensities, INTENSITY_WEIGHT, withIntensityModel } from './box-intensity';
import { boxPriorLogOdds, buildBoxPrior } from './box-prior';
import { labelBox } from './label-boxes';

const N = 24;

/**
 * A ball of radius 7 in an N³ box, and intensities as around a grey-matter structure: inside
 * ~ N(100, 5); outside, darker on one side (~ N(60, 8), like CSF) and brighter on the other
 * (~ N(140, 8), like white matter); seeded.
 */
function ballScene(seed = 1): { truth: Uint8Array; intensities: Float32Array } {
  const rand = uniformStream(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const truth = new Uint8Array(N ** 3);
  const intensities = new Float32Array(N ** 3);
  for (let k = 0; k < N; k++)
    for (let j = 0; j < N; j++)
      for (let i = 0; i < N; i++) {
        const q = i + N * (j + N * k);
        truth[q] = +(Math.hypot(i - 11.5, j - 11.5, k - 11.5) <= 7);
        intensities[q] = truth[q] ? 100 + 5 * gauss() : (i < N / 2 ? 60 : 140) + 8 * gauss();
      }
  return { truth, intensities };
}

/** Scores of a ball of radius `r` (+1 inside, −1 outside): a mask too large or too small. */
function ballScores(r: number): Float32Array {
  const s = new Float32Array(N ** 3);
  for (let q = 0; q < s.length; q++) {
    const [i, j, k] = [q % N, Math.floor(q / N) % N, Math.floor(q / (N * N))];
    s[q] = Math.hypot(i - 11.5, j - 11.5, k - 11.5) <= r ? 1 : -1;
  }
  return s;
}

function dice(score: ArrayLike<number>, truth: Uint8Array): number {
  let inter = 0, a = 0, b = 0;
  for (let q = 0; q < truth.length; q++) {
    const p = score[q] > 0;
    a += +p;
    b += truth[q];
    inter += +(p && truth[q] === 1);
  }
  return (2 * inter) / (a + b);
}

describe('intensity model in a 3-D box', () => {
  it('pulls a mask too small onto the structure its intensities mark, and shrinks one far too large', () => {
    const { truth, intensities } = ballScene();
    for (const r of [3, 5]) expect(dice(withIntensityModel(ballScores(r), intensities), truth)).toBeGreaterThan(0.98);
    // Radius 10 and 12 hold 2.9 and 5 times the ball: the neighbours' two Gaussians reclaim much
    // of them (one Gaussian for the rest scored 0.55 and 0.34 here).
    for (const r of [10, 12]) {
      const base = ballScores(r);
      expect(dice(withIntensityModel(base, intensities), truth) - dice(base, truth)).toBeGreaterThan(0.2);
    }
  });

  it('is the same for any linear intensity scale', () => {
    const { intensities } = ballScene();
    const base = ballScores(9);
    const a = withIntensityModel(base, intensities);
    const b = withIntensityModel(base, intensities.map((v) => 3 * v + 50));
    for (let q = 0; q < a.length; q++) expect(b[q]).toBeCloseTo(a[q], 3);
  });

  it('adds at most weight × 10 to a voxel, however odd its intensity', () => {
    const { intensities } = ballScene();
    intensities[0] = 1e6;
    const base = ballScores(7);
    const out = withIntensityModel(base, intensities);
    expect(Math.abs(out[0] - base[0])).toBeLessThanOrEqual(INTENSITY_WEIGHT * 10 + 1e-5);
  });

  it('leaves the scores as they are when either side of the mask has fewer than 10 voxels', () => {
    const { intensities } = ballScene();
    const almostNone = new Float32Array(N ** 3).fill(-1);
    for (let q = 0; q < 9; q++) almostNone[q * 37] = 1;
    expect(withIntensityModel(almostNone, intensities)).toEqual(almostNone);
    expect(withIntensityModel(almostNone.map((v) => -v), intensities)).toEqual(almostNone.map((v) => -v));
    expect(() => withIntensityModel(almostNone, new Float32Array(5))).toThrow(/differ in size/);
  });

  it('boxIntensities: the volume inside the box, x fastest', () => {
    const dims: Dims3 = [4, 5, 6];
    const data = Float32Array.from({ length: 120 }, (_, v) => v);
    const out = boxIntensities(data, dims, { lo: [1, 2, 3], hi: [2, 3, 5] });
    expect(Array.from(out)).toEqual([3, 4, 5].flatMap((k) => [2, 3].flatMap((j) => [1, 2].map((i) => i + 4 * (j + 5 * k)))));
  });
});

describe('anatomyScorer: shape prior, then intensity model', () => {
  it('finds a structure where SAM says nothing (mean logit 0), from the prior and the scan’s intensities; null for an unknown label', () => {
    // A lopsided structure (a wedge) in a 40³ scan: bright inside, darker around, with noise.
    const n = 40;
    const dims: Dims3 = [n, n, n];
    const wedge = (cut: number) => {
      const labels = new Uint8Array(n ** 3);
      for (let z = 10; z < 30; z++)
        for (let y = 8; y < 32; y++)
          for (let x = 12; x < 28; x++) if ((x - 12) / 15 + (31 - y) / 23 + (z - 10) / 19 > cut) labels[x + n * (y + n * z)] = 17;
      return labels;
    };
    const labels = wedge(1.2);
    const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const rand = uniformStream(3);
    const image = { dims, affine, spacing: [1, 1, 1] as const, data: Float32Array.from(labels, (l) => (l ? 90 : 50) + 8 * (rand() - 0.5)) };
    // The prior from other, fuller wedges: alone it over-fills this one's box; the intensities correct it.
    const prior = buildBoxPrior([wedge(0.6), wedge(0.8)].map((data) => ({ dims, affine, data })), [17], [2], 16);
    const box = labelBox(labels, dims, 17, 2)!;
    const score = anatomyScorer(prior, image);
    const size = [0, 1, 2].map((a) => box.hi[a] - box.lo[a] + 1);
    const silent = new Float32Array(size[0] * size[1] * size[2]);
    const out = score(box, silent)!;
    const truth = Uint8Array.from(boxIntensities(labels, dims, box), (l) => +(l === 17));
    const priorAlone = dice(boxPriorLogOdds(prior, box, affine)!, truth);
    console.log(`anatomyScorer on a wedge, SAM silent: Dice ${priorAlone.toFixed(3)} from the prior alone, ${dice(out, truth).toFixed(3)} with the intensity model`);
    expect(priorAlone).toBeLessThan(0.9);
    expect(dice(out, truth)).toBeGreaterThan(0.95);
    expect(score({ ...box, label: 5 }, new Float32Array(out.length))).toBeNull();
  });
});
