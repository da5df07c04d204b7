/**
 * UNETR and SwinUNETR on the wasm engine (float32, WebAssembly SIMD, two threads) against the
 * golden fixtures and the float64 engine, at the same float32 tolerances as WebGPU
 * (testing/engine-parity.ts). Unlike WebGPU on a software adapter, the wasm engine is fast
 * enough to run SwinUNETR in CI.
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
