/**
 * One turn of the event loop, awaited between training steps, after the messages already sent to
 * this thread. The wasm engine holds its thread while it computes and its results resolve as
 * microtasks, so without it a worker would read no message (Pause, Cancel) until a run ends.
 *
 * A message to a fresh channel queues behind the messages already received (browsers: one task
 * source, first in, first out). A zero timeout does not: in Node it can fire first when a step
 * took over a millisecond, and on a loaded machine it let one more step through in 1 of 6 runs of
 * loop.test.ts (the channel: 0 of 18; `setImmediate`: 6 of 6).
 */
export function yieldToMessages(): Promise<void> {
  return new Promise<void>((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
