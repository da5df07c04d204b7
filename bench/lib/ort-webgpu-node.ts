/**
 * onnxruntime-web's WebGPU execution provider in Node, on Dawn (the `webgpu` package, as the
 * engine's Node entry uses it): the same EP and the same JS pipeline as the studio's worker,
 * without a browser, so a GPU machine needs no Chromium to measure it.
 *
 * Two things a browser provides are supplied here:
 * - `navigator.gpu` (ORT asks it for its adapter): Dawn's GPU object for the lane
 *   (`SEAHORSE_WEBGPU_BACKEND`; `vulkan` on a GPU machine).
 * - Uploads from shared memory: ORT-web's threaded wasm heap is a SharedArrayBuffer, and Dawn's
 *   Node binding rejects views of one in `GPUQueue.writeBuffer` ("Invalid argument", measured
 *   with ORT-web 1.30 and webgpu 0.6), so such views are copied to a plain buffer first.
 */
import { nodeGpu, nodeLane, type NodeLane } from '../../src/engine/device-node';

let installed = false;

/** Makes `navigator.gpu` Dawn's GPU for `lane`; returns the adapter's description. */
export async function installNodeWebGpu(lane: NodeLane = nodeLane()): Promise<string> {
  const gpu = nodeGpu(lane);
  if (!installed) {
    const nav = (globalThis as { navigator?: object }).navigator ?? {};
    Object.defineProperty(globalThis, 'navigator', { value: Object.assign(Object.create(nav), { gpu }), configurable: true, writable: true });
    const queue = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
    const writeBuffer = queue.writeBuffer;
    queue.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) {
      if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
        const bytesPer = 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
        const copy = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
        return writeBuffer.call(this, buffer, offset, copy, (dataOffset ?? 0) * bytesPer, size === undefined ? undefined : size * bytesPer);
      }
      return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
    } as GPUQueue['writeBuffer'];
    installed = true;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`no WebGPU adapter on Dawn's ${lane} lane`);
  return [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ') || 'an unnamed adapter';
}
