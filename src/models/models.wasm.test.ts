/**
 * UNETR and SwinUNETR on the wasm engine (float32, WebAssembly SIMD, two threads) against the
 * golden fixtures and the float64 engine, at the same float32 tolerances as WebGPU
 * (testing/engine-parity.ts). CI runs unetr_tiny (seconds). SwinUNETR runs with
 * SEAHORSE_FULL_PARITY=1, as for WebGPU; measured 2026-12-04 (64³ forward + backward ≈ 1 min
 * on a busy 2-core machine): logits max abs 1.1e-5, loss 2.8e-8 and every strict-mode
 * (kinks pinned) gradient ≤ 4.6e-5 rel-L2 pass; two checks FAIL and are open: the unpinned
 * gradient of decoder2.conv_block.conv2.conv.weight is at 1.05e-4 rel-L2 against its suggested
 * 1e-5 (4× torch float32's own deviation), and on the seeded 32³ SwinUNETR
 * encoder1.layer.conv3.conv.weight's gradient is 7.8e-3 of its max against 1e-3 (the tensor the
 * fixtures flag for cancellation). Both are where near-kink LeakyReLU elements and long sums
 * decide; WebGPU has not been run on these two checks on this machine (too slow on llvmpipe).
 */
import { afterAll, beforeAll } from 'vitest';
import type { Engine } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { defineFixtureParity } from './testing/engine-parity';

let wasm: Engine;
beforeAll(async () => {
  wasm = await createNodeWasmEngine({ threads: 2 });
});
afterAll(() => wasm?.dispose());

defineFixtureParity('wasm', () => wasm, process.env.SEAHORSE_FULL_PARITY === '1');
