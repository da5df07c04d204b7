/**
 * The training engine in Node, chosen once for every Node entry (`seahorse finetune`,
 * `npm run bench -- fewshot`): `--engine` when given; otherwise WebGPU on a hardware GPU, and
 * the wasm engine (float32 WebAssembly SIMD on worker threads) when there is none or only a
 * software adapter (llvmpipe, SwiftShader), which trains several times slower than wasm.
 */
import { createCpuEngine } from './cpu/backend';
import { isSoftwareAdapter } from './device';
import type { Engine } from './engine';
import { createWebGPUEngine } from './webgpu/backend';
import { createNodeWasmEngine } from './wasm/node';

export const NODE_ENGINE_KINDS = ['wasm', 'webgpu', 'cpu'] as const;

/** A `--engine` value that is none of NODE_ENGINE_KINDS. */
export class EngineChoiceError extends Error {
  override readonly name = 'EngineChoiceError';
}

export interface NodeEngineChoice {
  readonly engine: Engine;
  /** Why the default fell back to wasm (why there is no hardware GPU); absent when the engine was asked for or is WebGPU. */
  readonly fallback?: string;
}

/** Opens the engine `kind` names (undefined: the default above); `threads` applies to wasm only (default: all cores). */
export async function openNodeEngine(kind: string | undefined, opts: { threads?: number } = {}): Promise<NodeEngineChoice> {
  const wasm = () => createNodeWasmEngine(opts.threads === undefined ? {} : { threads: opts.threads });
  if (kind === 'cpu') return { engine: createCpuEngine() };
  if (kind === 'wasm') return { engine: await wasm() };
  if (kind !== undefined && kind !== 'webgpu') throw new EngineChoiceError(`--engine must be ${NODE_ENGINE_KINDS.join(', ')}, got "${kind}"`);
  let reason: string;
  try {
    const { requestNodeDevice } = await import('./device-node');
    const dev = await requestNodeDevice();
    if (kind === 'webgpu' || !isSoftwareAdapter(dev)) return { engine: createWebGPUEngine(dev) };
    dev.device.destroy();
    reason = `the only WebGPU adapter is a software one (${dev.description})`;
  } catch (e) {
    if (kind === 'webgpu') throw e;
    reason = `WebGPU is not available (${e instanceof Error ? e.message : e})`;
  }
  return { engine: await wasm(), fallback: reason };
}
