/**
 * ONNX parity in the browser, shared by the two parity specs: a fixture model, prepared for the
 * web by the core ONNX tooling (external weights inlined, 3-D ConvTranspose rewritten), runs on
 * ORT-web's WebGPU provider in headless Chromium and must match the fixture's float64 PyTorch
 * logits.
 */
import { expect, type Page } from '@playwright/test';
import type { FixtureModel, ParityReport } from './pages/parity-page';

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

const LOGITS: Record<FixtureModel, number> = { unetr_tiny: 3 * 32 ** 3, swinunetr_tiny: 3 * 64 ** 3 };

export async function expectFixtureParity(page: Page, model: FixtureModel): Promise<void> {
  await page.goto('/e2e/pages/parity.html');
  const report: ParityReport = await page.evaluate((m) => window.seahorseParity(m, 'webgpu'), model);
  console.log(
    `${model}: ${report.backend} (${report.reason}), max |Δ| ${report.maxAbs.toExponential(2)}, rel-L2 ${report.relL2.toExponential(2)}, ${report.count} logits, run ${(report.runMs / 1000).toFixed(1)} s`,
  );
  expect(report.backend).toBe('webgpu');
  expect(report.count).toBe(LOGITS[model]);
  expect(report.maxAbs).toBeLessThan(tolerance[model].maxAbs);
  expect(report.relL2).toBeLessThan(tolerance[model].relL2);
}
