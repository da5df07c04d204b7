/**
 * UNETR and SwinUNETR on a float32 engine against the golden fixtures, and against the float64
 * engine on a small seeded model: the suite models.webgpu.test.ts and models.wasm.test.ts share.
 *
 * Tolerances (fixtures README §6):
 * - logits: max abs ≤ 2e-4 (UNETR, max|logit| 7.8) / 1e-3 (Swin, 15.5), rel-L2 ≤ 1e-4 —
 *   recommendation 1; torch float32 is at 2.0e-5 / 1.6e-5.
 * - loss: |Δ| ≤ 1e-5 (recommendation 2; torch float32 5.6e-8 / 2.8e-8).
 * - gradients, strict mode (recommendation 3): the LeakyReLU elements within 1e-4·std of the
 *   kink are pinned to the float64 sign (testing/kinks.ts). Then per-tensor rel-L2 ≤ 1e-4, as the
 *   fixtures found for torch float32 (p90 1.3e-5); a tensor whose gradient is small (max|ref| under
 *   1 % of the model's largest) may reach 1e-3, where torch float32 itself is at 9.8e-4
 *   (encoder1.layer.conv3 of UNETR) because cancellation amplifies rounding.
 * - gradients unpinned (recommendation 4): per-tensor rel-L2 ≤ `suggested_f32_tolerances`
 *   (4× torch float32's deviation) and cosine ≥ 0.95.
 * - float32 engine vs float64 engine on a small seeded SwinUNETR (random weights, 32³): logits and every
 *   gradient within 1e-3 of their max|float64|, cosine ≥ 0.9999 — float32 rounding over the
 *   network is ~1e-5 of max here; the margin covers an unlucky kink flip under random weights,
 *   while an indexing or formula error shows up at O(1).
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { backward, createCpuEngine, mul, sum, tidy, type Engine } from '../../engine';
import { hasShared, sharedMissing } from '../../testing/shared';
import type { SegmentationModel } from '../model';
import { SwinUNETR } from '../swinunetr';
import { compareEntry, cosine, entryValues, FIXTURE_CONFIGS, fixtureWeights, maxAbsDiff, readF32, readIndexed, readJson, relL2, relToMax } from './fixtures';
import { pinnedLeakyRelu, type KinkCall } from './kinks';
import { runFixtureCase, type ParityRun } from './parity';
import { UNETR } from '../unetr';

const LOSS_TOL = 1e-5;
const LOGITS_REL_L2 = 1e-4;
const STRICT_REL_L2 = 1e-4;
const STRICT_SMALL_REL_L2 = 1e-3;
const SMALL_GRADIENT = 0.01;
const MIN_COSINE = 0.95;

interface Tolerances {
  kinks: { per_call: KinkCall[] };
  suggested_f32_tolerances: Record<string, { rel_l2: number }>;
}



interface Case {
  dir: 'unetr_tiny' | 'swinunetr_tiny';
  side: number;
  maxAbs: number;
  build: (e: Engine) => SegmentationModel;
}

/**
 * SwinUNETR on Node's software adapters is too slow for CI: two forward + backward passes of
 * swinunetr_tiny at 64³ on Dawn's GL lane (llvmpipe) had not finished after 10 min on an idle
 * 2-core machine (2026-11-22), nor the seeded 32³ case below. They run with
 * SEAHORSE_FULL_PARITY=1 (and on any machine with a GPU); CI runs UNETR here, and the float64
 * engine's SwinUNETR parity (swinunetr.parity.test.ts) plus WebGPU kernel tests cover Swin's ops.
 */

const UNETR_CASE: Case = { dir: 'unetr_tiny', side: 32, maxAbs: 2e-4, build: (e) => UNETR.load(e, FIXTURE_CONFIGS.unetr_tiny, fixtureWeights('unetr_tiny')) };
const SWIN_CASE: Case = { dir: 'swinunetr_tiny', side: 64, maxAbs: 1e-3, build: (e: Engine) => SwinUNETR.load(e, FIXTURE_CONFIGS.swinunetr_tiny, fixtureWeights('swinunetr_tiny')) };

/**
 * Defines the fixture parity suite for the float32 engine `engine()` returns (called inside
 * hooks and tests): unetr_tiny always; swinunetr_tiny and the seeded SwinUNETR against the
 * float64 engine when `swin` is set.
 */
export function defineFixtureParity(label: string, engine: () => Engine, swin: boolean): void {
const cases = swin ? [UNETR_CASE, SWIN_CASE] : [UNETR_CASE];
for (const c of cases) {
  describe.skipIf(!hasShared)(`${c.dir} on ${label}${hasShared ? '' : ` (${sharedMissing})`}`, () => {
    let model: SegmentationModel;
    let plain: ParityRun;
    let strict: ParityRun;
    const tol = hasShared ? readJson<Tolerances>(c.dir, 'tolerances.json') : null;
    const grads = hasShared ? readIndexed(c.dir, 'grads') : null;

    beforeAll(async () => {
      const gpu = engine();
      model = c.build(gpu);
      plain = await runFixtureCase(gpu, model, c.dir, c.side, 3);
      strict = await runFixtureCase(gpu, model, c.dir, c.side, 3, { leakyRelu: pinnedLeakyRelu(gpu, tol!.kinks.per_call) });
      console.log(`${c.dir} forward + backward on ${gpu.description}: ${(plain.ms / 1000).toFixed(1)} s`);
    });
    afterAll(() => model?.dispose());

    it('logits and loss', () => {
      const ref = readF32(c.dir, 'logits.bin');
      const loss = readJson<{ loss_float64: number }>(c.dir, 'loss.json').loss_float64;
      console.log(`${c.dir} ${label} logits max abs ${maxAbsDiff(plain.logits, ref).toExponential(2)}, rel-L2 ${relL2(plain.logits, ref).toExponential(2)}, loss ${Math.abs(plain.loss - loss).toExponential(2)}`);
      expect(maxAbsDiff(plain.logits, ref)).toBeLessThan(c.maxAbs);
      expect(relL2(plain.logits, ref)).toBeLessThan(LOGITS_REL_L2);
      expect(Math.abs(plain.loss - loss)).toBeLessThan(LOSS_TOL);
    });

    it('gradients in strict mode (near-kink LeakyReLU elements pinned to the float64 sign)', () => {
      const all = [...strict.grads, ['input', strict.inputGrad] as const];
      let largest = 0;
      for (const [name] of all) largest = Math.max(largest, entryValues(grads!, name).reduce((m, v) => Math.max(m, Math.abs(v)), 0));
      const errs: number[] = [];
      for (const [name, g] of all) {
        const ref = entryValues(grads!, name);
        const small = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0) < SMALL_GRADIENT * largest;
        const e = compareEntry(grads!, name, g).relL2;
        errs.push(e);
        expect(e, name).toBeLessThan(small ? STRICT_SMALL_REL_L2 : STRICT_REL_L2);
      }
      errs.sort((a, b) => a - b);
      console.log(`${c.dir} strict gradient rel-L2: median ${errs[errs.length >> 1].toExponential(2)}, p90 ${errs[Math.floor(0.9 * errs.length)].toExponential(2)}, max ${errs[errs.length - 1].toExponential(2)}`);
    });

    it('gradients unpinned, within the suggested float32 tolerances', () => {
      for (const [name, g] of [...plain.grads, ['input', plain.inputGrad] as const]) {
        const cmp = compareEntry(grads!, name, g);
        expect(cmp.relL2, name).toBeLessThan(tol!.suggested_f32_tolerances[name].rel_l2);
        expect(cmp.cosine, name).toBeGreaterThan(MIN_COSINE);
      }
    });
  });
}

describe.skipIf(!swin)(`${label} agrees with the float64 engine on a seeded SwinUNETR (clamped windows, shifts, padding)`, () => {
  it('logits and every gradient', async () => {
    const config = { inChannels: 1, outChannels: 2, featureSize: 12, numHeads: [3, 3, 3, 3] };
    const results: { logits: Float64Array; grads: Map<string, Float64Array> }[] = [];
    for (const e of [engine(), createCpuEngine()]) {
      const m = SwinUNETR.init(e, config, 21);
      const x = e.randn([1, 1, 32, 32, 32], { seed: 5 }, { name: 'image' });
      const r = e.randn([1, 2, 32, 32, 32], { seed: 6 });
      const { y, l } = tidy(() => {
        const y = m.forward(x);
        return { y, l: sum(mul(y, r)) };
      });
      backward(l);
      const grads = new Map<string, Float64Array>();
      for (const [name, p] of m.params.entries()) grads.set(name, Float64Array.from(await p.grad!.data()));
      results.push({ logits: Float64Array.from(await y.data()), grads });
      for (const t of [x, r, y, l, m]) t.dispose();
    }
    const [w, f] = results;
    expect(relToMax(w.logits, f.logits)).toBeLessThan(1e-3);
    let worst = 0;
    for (const [name, g] of f.grads) {
      // encoder10 runs on 1³ here: InstanceNorm of a single voxel is 0 whatever its input, so the
      // convs before it have an exactly zero gradient (and no cosine): it must be zero here too.
      if (g.every((v) => v === 0)) {
        expect(w.grads.get(name)!.every((v) => v === 0), `${name} (zero in float64)`).toBe(true);
        continue;
      }
      const e = relToMax(w.grads.get(name)!, g);
      worst = Math.max(worst, e);
      expect(e, name).toBeLessThan(1e-3);
      expect(cosine(w.grads.get(name)!, g), name).toBeGreaterThan(0.9999);
    }
    console.log(`seeded SwinUNETR ${label} vs float64: logits ${relToMax(w.logits, f.logits).toExponential(2)}, worst gradient ${worst.toExponential(2)} of max`);
  });
});
}
