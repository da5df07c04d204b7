/**
 * Node entry for WebGPU via the `webgpu` package (Dawn). Node-only: never import this from code
 * the browser bundle reaches. Lane by `SEAHORSE_WEBGPU_BACKEND`: `opengl` (default; Dawn's GL
 * lane in compatibility mode, fastest on CPU-only machines with EGL_PLATFORM=surfaceless) or
 * `vulkan` (core features; on CPU-only machines Chromium's SwiftShader ICD, which needs
 * `LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`).
 */
import { create, globals } from 'webgpu';
import { requestEngineDevice, type EngineDevice } from './device';

export type NodeLane = 'opengl' | 'vulkan';

/** Kept at module level: if Dawn's GPU object is garbage-collected while a device lives, the process crashes. */
const instances = new Map<NodeLane, GPU>();

export function nodeLane(): NodeLane {
  const v = process.env.SEAHORSE_WEBGPU_BACKEND ?? 'opengl';
  if (v !== 'opengl' && v !== 'vulkan') throw new Error(`SEAHORSE_WEBGPU_BACKEND must be opengl or vulkan, got "${v}"`);
  return v;
}

/** Dawn's `GPU` object for a lane (created once), with WebGPU's globals (GPUBufferUsage, …) installed. */
export function nodeGpu(lane: NodeLane = nodeLane()): GPU {
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  if (lane === 'opengl') process.env.EGL_PLATFORM ??= 'surfaceless';
  let gpu = instances.get(lane);
  if (!gpu) {
    gpu = create([`backend=${lane}`]) as GPU;
    instances.set(lane, gpu);
  }
  return gpu;
}

export async function requestNodeDevice(lane: NodeLane = nodeLane()): Promise<EngineDevice> {
  const gpu = nodeGpu(lane);
  return requestEngineDevice(gpu, lane === 'opengl' ? { featureLevel: 'compatibility', lane: 'Dawn OpenGL (compatibility)' } : { lane: 'Dawn Vulkan' });
}
