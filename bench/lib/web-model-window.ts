/**
 * A shipped model's bytes as the studio's worker hands them to onnxruntime-web, and one seeded
 * window of its input size in [−1, 1): the fixed input of the onnxruntime-web benchmarks.
 */
import type { Dims3 } from '../../src/core/volume';
import type { ModelManifest } from '../../src/infer/manifest';
import { readModelNode } from '../../src/infer/registry-node';
import { prepareForWeb } from '../../src/onnx';

export interface WebModelWindow {
  readonly manifest: ModelManifest;
  /** `prepareForWeb` of the ONNX file. */
  readonly web: Uint8Array;
  readonly dims: Dims3;
  readonly input: Float32Array;
}

export function webModelWindow(id: string): WebModelWindow {
  const { manifest, bytes } = readModelNode(id);
  const dims = manifest.inputSize as Dims3;
  let seed = 1; // a linear congruential sequence: the same window in every run
  const input = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
  return { manifest, web: prepareForWeb(bytes), dims, input };
}
