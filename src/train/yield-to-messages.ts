/**
 * One macrotask, awaited between training steps. The wasm engine holds its thread while it
 * computes and its results resolve as microtasks, so without it a worker would read no message
 * (Pause, Cancel) until a run ends.
 */
export function yieldToMessages(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}
