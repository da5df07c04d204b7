/**
 * InferenceBackend on onnxruntime-node (CPU), for the CLI and for tests: the same
 * pipeline as the browser, a different runtime. Node has no WebGPU execution provider
 * in onnxruntime-node, so this is always the CPU.
 */
import * as ort from 'onnxruntime-node';
import type { InferenceBackend } from './backend';

export interface OrtNodeOptions {
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  readonly threads?: number;
}

/** Opens a session on self-contained model bytes (external data inlined). */
export async function createOrtNodeBackend(modelBytes: Uint8Array, opts: OrtNodeOptions = {}): Promise<InferenceBackend> {
  const session = await ort.InferenceSession.create(modelBytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    // Idle pool threads sleep instead of spinning: beside this session run the localiser's and the
    // template's threads (segment), or other scans' workers (bids), and on 2 cores a spinning
    // thread takes their time. One swinunetr-fs window, 2 threads: 205–213 → 166–169 ms of CPU,
    // wall time the same or less (bench/RESULTS.md); identical output.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  if (session.inputNames.length !== 1 || session.outputNames.length < 1) {
    await session.release();
    throw new Error(`expected a model with one input and an output, found ${session.inputNames.length} inputs`);
  }
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  return {
    name: 'cpu',
    reason: `onnxruntime-node ${ort.env.versions.node} on the CPU`,
    async run(window: Float32Array, dims: readonly [number, number, number]): Promise<Float32Array> {
      const feeds = { [input]: new ort.Tensor('float32', window, [1, 1, ...dims]) };
      const result = await session.run(feeds, [output]);
      const logits = result[output];
      if (logits.type !== 'float32') throw new Error(`the model returned ${logits.type} logits; expected float32`);
      return logits.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}
