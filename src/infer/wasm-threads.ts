/**
 * How many threads onnxruntime-web's wasm (CPU) sessions get in the studio. Threads share one
 * WebAssembly memory, which needs a cross-origin isolated page (COOP/COEP headers); without it
 * there is one thread.
 *
 * The count is the cores less one: one core stays with the page's own work (drawing, the main
 * thread) and the rest of the machine. At most four, onnxruntime-web's own cap for its default
 * count. Measured on 2 cores (bench/RESULTS.md "onnxruntime-web on the page's wasm threads in the
 * production build"): on an idle machine two threads made the prompt tool's 3-D box 1.6–1.8×
 * faster but the full-head drop about 0.8 s slower; beside a busy second browser, not measured.
 */
export const MAX_ORT_WASM_THREADS = 4;

export interface WasmThreadContext {
  /** `crossOriginIsolated`: shared memory is available. */
  readonly isolated: boolean;
  /** `navigator.hardwareConcurrency` (logical cores; absent in some browsers). */
  readonly cores: number | undefined;
  /** A count asked for by the page's `?threads=` (benchmarks compare counts with it). */
  readonly asked?: number;
}

export function ortWasmThreads({ isolated, cores, asked }: WasmThreadContext): number {
  if (!isolated) return 1;
  if (asked !== undefined && Number.isInteger(asked) && asked >= 1) return Math.min(asked, MAX_ORT_WASM_THREADS);
  return Math.max(1, Math.min(MAX_ORT_WASM_THREADS, (cores ?? 1) - 1));
}
