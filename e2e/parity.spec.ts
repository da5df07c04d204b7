/**
 * unetr_tiny (a MONAI UNETR export) on ORT-web's WebGPU provider in headless Chromium matches
 * the fixture's PyTorch logits (e2e/parity.ts). swinunetr_tiny: e2e/parity-swinunetr.spec.ts.
 */
import { test } from '@playwright/test';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { expectFixtureParity } from './parity';

test.skip(!hasShared, sharedMissing);

test('unetr_tiny on WebGPU matches PyTorch', async ({ page }) => {
  // One run on SwiftShader: ~0.6 GMAC of ORT's naive 3-D convolutions (13 s on 2 idle cores).
  test.setTimeout(600_000);
  await expectFixtureParity(page, 'unetr_tiny');
});
