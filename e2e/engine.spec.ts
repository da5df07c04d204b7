import { expect, test } from '@playwright/test';

/**
 * The WGSL engine in headless Chromium (SwiftShader WebGPU), inside a module worker: a tiny
 * conv net's forward, backward and an AdamW step agree with the float64 reference. Tolerances
 * as in src/engine/webgpu.test.ts (float32 rounding over sums of ≤ ~100 terms).
 */
test('the WGSL engine trains a tiny conv net in a browser worker, matching the float64 reference', async ({ page }) => {
  await page.goto('/e2e/pages/engine.html');
  const r = await page.evaluate(() => window.seahorseEngineCheck());
  console.log(`engine check on ${r.adapter}: out ${r.out.toExponential(2)}, grad ${r.grad.toExponential(2)}, step ${r.step.toExponential(2)}`);
  expect(r.out).toBeLessThan(2e-5);
  expect(r.grad).toBeLessThan(2e-5);
  expect(r.step).toBeLessThan(1e-6);
});
