/**
 * One interface, several runtimes: onnxruntime-web on WebGPU or wasm in the browser,
 * onnxruntime-node on the CPU in the CLI. The pipeline only sees this.
 */
export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface InferenceBackend {
  readonly name: BackendName;
  /** Why this backend was chosen (e.g. "WebGPU unavailable: no adapter"), for the UI. */
  readonly reason: string;
  /** Runs the model on one window. `input` is [1, 1, D, H, W]; returns logits [1, C, D, H, W]. */
  run(input: Float32Array, dims: readonly [number, number, number]): Promise<Float32Array>;
  dispose(): Promise<void>;
}
