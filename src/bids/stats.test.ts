import { describe, expect, it } from 'vitest';
import { uniformStream } from '../core/random';
import { crossValidate, datasetFromRows, fitLogistic, LOGISTIC_L2, solve, stratifiedGroupFolds, type Dataset } from './stats';

/** Standard normal draws (Box–Muller) from a seeded stream. */
function normals(seed: number) {
  const u = uniformStream(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Φ, the standard normal CDF (Abramowitz & Stegun 26.2.17, |error| < 7.5e−8). */
function phi(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const d = 0.3989422804014327 * Math.exp((-x * x) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x >= 0 ? 1 - p : p;
}

/**
 * A synthetic cohort with a known answer. Left and right ICV-normalised volumes are
 * bivariate normal (SD 0.03 % ICV each, correlation ρ); AD shifts both down by `shift`.
 * Age is uninformative noise. Equal priors, shared covariance: the Bayes accuracy is
 * Φ(Δ/2) with Δ the Mahalanobis distance between the class means, here
 * Δ² = 2 shift² / (σ² (1 + ρ)).
 */
function cohort(n: number, shift: number, seed: number, rho = 0.7): { rows: Record<string, string>[]; bayes: number } {
  const z = normals(seed);
  const sigma = 0.03;
  const rows: Record<string, string>[] = [];
  for (let i = 0; i < n; i++) {
    const ad = i % 2 === 1;
    const a = z();
    const b = rho * a + Math.sqrt(1 - rho * rho) * z();
    const mean = 0.24 - (ad ? shift : 0);
    rows.push({
      participant_id: `sub-${i}`,
      status: 'ok',
      left_hippocampus_pct_icv: String(mean + sigma * a),
      right_hippocampus_pct_icv: String(mean + sigma * b),
      age: String(70 + 8 * z()),
      diagnosis: ad ? 'AD' : 'CN',
    });
  }
  const delta = Math.sqrt((2 * shift * shift) / (sigma * sigma * (1 + rho)));
  return { rows, bayes: phi(delta / 2) };
}

const FEATURES = ['left_hippocampus_pct_icv', 'right_hippocampus_pct_icv', 'age'];

describe('volume-based classifier, cross-validated', () => {
  it('recovers the Bayes accuracy of a cohort whose answer is known (LDA and logistic regression)', () => {
    const n = 800;
    const { rows, bayes } = cohort(n, 0.04, 11);
    expect(bayes).toBeCloseTo(0.7652, 3); // Δ = √(2 · 0.04² / (0.03² · 1.7)) = 1.446
    const { data } = datasetFromRows(rows, 'diagnosis', FEATURES);
    // The sampling SD of an accuracy near 0.77 on 800 scans is √(0.77 · 0.23 / 800) ≈ 0.015; allow 3 SD.
    const tol = 3 * Math.sqrt((bayes * (1 - bayes)) / n);
    for (const method of ['lda', 'logistic'] as const) {
      const r = crossValidate(data, { method, folds: 5, repeats: 2, permutations: 19, seed: 3 });
      expect(Math.abs(r.accuracy - bayes), method).toBeLessThan(tol);
      expect(r.majorityBaseline).toBe(0.5);
      expect(r.pValue).toBe(1 / 20); // no permutation reaches it: the smallest p that 19 permutations can give
      expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(n);
    }
  });

  it('finds nothing where there is nothing: accuracy at chance, permutation p not small', () => {
    const { rows } = cohort(300, 0, 5);
    const { data } = datasetFromRows(rows, 'diagnosis', FEATURES);
    const r = crossValidate(data, { method: 'lda', folds: 5, repeats: 3, permutations: 49, seed: 2 });
    expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(3 * Math.sqrt(0.25 / 300));
    expect(r.pValue!).toBeGreaterThan(0.05);
  });

  it('folds keep a participant’s sessions together and balance the classes', () => {
    const y: string[] = [];
    const groups: string[] = [];
    for (let p = 0; p < 30; p++) for (let s = 0; s < 1 + (p % 3); s++) (y.push(p < 10 ? 'AD' : 'CN'), groups.push(`p${p}`));
    const folds = stratifiedGroupFolds(y, groups, 5, 7);
    const foldOf = new Map<string, Set<number>>();
    groups.forEach((g, i) => foldOf.set(g, new Set([...(foldOf.get(g) ?? []), folds[i]])));
    expect([...foldOf.values()].every((s) => s.size === 1)).toBe(true);
    for (let f = 0; f < 5; f++) {
      const people = [...foldOf].filter(([, s]) => s.has(f)).map(([g]) => g);
      expect(people.filter((g) => Number(g.slice(1)) < 10)).toHaveLength(2); // 10 AD over 5 folds
      expect(people).toHaveLength(6);
    }
  });

  it('logistic regression sits where the penalised likelihood’s gradient vanishes', () => {
    const z = normals(3);
    const x = Array.from({ length: 60 }, () => [z(), z()]);
    const y = x.map(([a, b]) => (a - 0.5 * b + 0.8 * z() > 0 ? 1 : 0));
    const { weights: w } = fitLogistic(x, y);
    const grad = [0, 0, 0];
    x.forEach((r, i) => {
      const row = [1, ...r];
      const mu = 1 / (1 + Math.exp(-row.reduce((s, v, j) => s + v * w[j], 0)));
      row.forEach((v, j) => (grad[j] += (mu - y[i]) * v));
    });
    for (let j = 1; j < 3; j++) grad[j] += LOGISTIC_L2 * x.length * w[j];
    for (const g of grad) expect(Math.abs(g)).toBeLessThan(1e-8);
    expect(solve([[2, 1], [1, 3]], [3, 5])).toEqual([0.8, 1.4].map((v) => expect.closeTo(v, 12)));
  });

  it('says what it cannot do: one class, too few participants, logistic on three classes; drops rows it cannot use', () => {
    const d: Dataset = { x: [[1], [2], [3]], y: ['a', 'a', 'a'], groups: ['1', '2', '3'] };
    expect(() => crossValidate(d, { method: 'lda', folds: 2 })).toThrow(/two classes or more; found only "a"/);
    expect(() => crossValidate({ ...d, y: ['a', 'b', 'a'] }, { method: 'lda', folds: 5 })).toThrow(/at least 5 participants; there are 3/);
    expect(() => crossValidate({ ...d, y: ['a', 'b', 'c'] }, { method: 'logistic', folds: 2 })).toThrow(/two classes; found 3/);
    const { data, dropped } = datasetFromRows(
      [
        { participant_id: 's1', status: 'ok', v: '1', dx: 'AD' },
        { participant_id: 's2', status: 'failed', v: 'n/a', dx: 'CN' },
        { participant_id: 's3', status: 'ok', v: 'n/a', dx: 'CN' },
        { participant_id: 's4', status: 'ok', v: '2', dx: 'n/a' },
      ],
      'dx',
      ['v'],
    );
    expect(data).toEqual({ x: [[1]], y: ['AD'], groups: ['s1'] });
    expect(dropped).toEqual([
      { reason: 'status failed', count: 1 },
      { reason: 'no v', count: 1 },
      { reason: 'no dx', count: 1 },
    ]);
  });
});
