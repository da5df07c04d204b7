import { expect, test } from '@playwright/test';

/**
 * Seahorse's own UNETR (src/models) in headless Chromium (SwiftShader WebGPU), in a module
 * worker: the fixture unetr_tiny logits and loss against the float64 PyTorch reference.
 * Tolerances from fixtures README §6: logits max abs ≤ 2e-4 (max|logit| 7.8; torch float32 is
 * at 2.0e-5), rel-L2 ≤ 1e-4, loss ≤ 1e-5 (torch float32: 5.6e-8).
 */
test('UNETR on the WGSL engine in a browser worker matches the unetr_tiny reference', async ({ page }) => {
  await page.goto('/e2e/pages/models.html');
  const r = await page.evaluate(() => window.seahorseModelsCheck());
  console.log(`unetr_tiny on ${r.adapter}: logits max abs ${r.maxAbs.toExponential(2)}, rel-L2 ${r.relL2.toExponential(2)}, loss ${r.lossErr.toExponential(2)}, forward ${(r.forwardMs / 1000).toFixed(1)} s`);
  expect(r.maxAbs).toBeLessThan(2e-4);
  expect(r.relL2).toBeLessThan(1e-4);
  expect(r.lossErr).toBeLessThan(1e-5);
});
