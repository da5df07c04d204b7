/**
 * ONNX parity in the browser: both fixture models, prepared for the web by the core ONNX
 * tooling (external weights inlined, 3-D ConvTranspose rewritten), run on ORT-web's WebGPU
 * provider in headless Chromium and match the fixtures' float64 PyTorch logits.
 */
import { expect, test } from '@playwright/test';
import { hasShared, sharedMissing } from '../src/testing/shared';
import type { FixtureModel, ParityReport } from './pages/parity-page';

test.skip(!hasShared, sharedMissing);

/**
 * Tolerances, against the float64 reference. Float32 inference differs from it by rounding
 * only; the fixtures README (§5, §6) measured, as max |Δ| / rel-L2:
 *  - UNETR (|logits| ≤ 7.8): torch f32 2.0e-5 / 2.1e-6, ORT wasm 3.0e-5 / 4.0e-6;
 *  - SwinUNETR (|logits| ≤ 15.5): torch f32 1.6e-5 / 9.4e-7, ORT wasm 8.6e-4 / 5.8e-5.
 * WebGPU sums in yet another order (and its Erf is a polynomial), so allow about three times
 * ORT wasm's error: still four orders of magnitude below the logits' scale, while a wrong
 * weight, a transposed axis or a mis-rewritten ConvTranspose moves logits by O(1).
 */
const tolerance: Record<FixtureModel, { maxAbs: number; relL2: number }> = {
  unetr_tiny: { maxAbs: 1e-4, relL2: 1.2e-5 },
  swinunetr_tiny: { maxAbs: 2.5e-3, relL2: 1.8e-4 },
};

/**
 * swinunetr_tiny runs only with SEAHORSE_FULL_PARITY=1 for now: with the suite's Dawn speed
 * flags (playwright.config.ts) ORT's run lost the device after 44 s ("A valid external Instance
 * reference no longer exists", 2026-11-22), and without them one run took longer than CI can
 * spend (47 min at load 25; not yet timed idle). The shipped SwinUNETR runs on WebGPU in CI
 * (shipped-models.spec.ts). To investigate: which flag, which kernel.
 */
const FULL = process.env.SEAHORSE_FULL_PARITY === '1';

for (const model of ['unetr_tiny', 'swinunetr_tiny'] as const) {
  test(`${model} on WebGPU matches PyTorch`, async ({ page }) => {
    test.skip(model === 'swinunetr_tiny' && !FULL, 'SwinUNETR fixture parity in Chromium: SEAHORSE_FULL_PARITY=1 (see above)');
    // One run on SwiftShader: UNETR ~0.6 GMAC, SwinUNETR ~10 GMAC of naive 3-D convolutions
    // (measured 21 s and 47 min on a 2-core machine at load 8 and 25; minutes when idle).
    test.setTimeout(model === 'swinunetr_tiny' ? 3_600_000 : 600_000);
    await page.goto('/e2e/pages/parity.html');
    const report: ParityReport = await page.evaluate((m) => window.seahorseParity(m, 'auto'), model);
    console.log(
      `${model}: ${report.backend} (${report.reason}), max |Δ| ${report.maxAbs.toExponential(2)}, rel-L2 ${report.relL2.toExponential(2)}, ${report.count} logits, run ${(report.runMs / 1000).toFixed(1)} s`,
    );
    expect(report.backend).toBe('webgpu');
    expect(report.count).toBe(model === 'unetr_tiny' ? 3 * 32 ** 3 : 3 * 64 ** 3);
    expect(report.maxAbs).toBeLessThan(tolerance[model].maxAbs);
    expect(report.relL2).toBeLessThan(tolerance[model].relL2);
  });
}
