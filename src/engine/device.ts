/**
 * The GPU device wrapper: asks the adapter for its real limits (WebGPU hands out small defaults
 * unless each limit is requested) and watches for device loss. Browser-safe; Node gets its
 * `GPU` object from `device-node.ts`.
 */

/** Limits the engine plans against, as granted by the device. */
export interface EngineLimits {
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minUniformBufferOffsetAlignment: number;
}

const REQUESTED: readonly (keyof EngineLimits)[] = [
  'maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
];

/** A device plus what the engine and the UI need to know about it. */
export interface EngineDevice {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly limits: EngineLimits;
  /** "vendor architecture (description) via lane", for diagnostics and benchmark tables. */
  readonly description: string;
  /** Resolves when the device is lost (never rejects). */
  readonly lost: Promise<GPUDeviceLostInfo>;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** 'compatibility' for Dawn's OpenGL lane. */
  featureLevel?: 'core' | 'compatibility';
  /** Appended to the description (e.g. "Dawn OpenGL"). */
  lane?: string;
}

/** Requests an adapter and a device with the adapter's own limits. Throws a readable Error if there is none. */
export async function requestEngineDevice(gpu: GPU | undefined, opts: DeviceOptions = {}): Promise<EngineDevice> {
  if (!gpu) throw new Error('WebGPU is not available here (no navigator.gpu)');
  const adapterOpts: GPURequestAdapterOptions & { featureLevel?: string } = { powerPreference: opts.powerPreference ?? 'high-performance' };
  if (opts.featureLevel) adapterOpts.featureLevel = opts.featureLevel;
  const adapter = await gpu.requestAdapter(adapterOpts);
  if (!adapter) throw new Error('WebGPU is available but no GPU adapter was found');
  const requiredLimits: Record<string, number> = {};
  for (const k of REQUESTED) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredLimits });
  return engineDeviceOf(adapter, device, opts.lane);
}

/**
 * The engine's view of a device someone else opened (the studio's worker shares ORT's device
 * with the engine). The engine plans against the limits the device was granted.
 */
export function engineDeviceOf(adapter: GPUAdapter, device: GPUDevice, lane?: string): EngineDevice {
  const l = device.limits;
  const limits: EngineLimits = {
    maxBufferSize: l.maxBufferSize,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
  };
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unknown adapter';
  return { adapter, device, limits, description: lane ? `${name} via ${lane}` : name, lost: device.lost };
}

/** Adapters that run on the CPU (llvmpipe, SwiftShader, WARP, …): for training they count as no GPU. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|softpipe|lavapipe|software|basic render|warp/i;

/** Whether `dev` is a software (CPU) adapter rather than a hardware GPU. */
export function isSoftwareAdapter(dev: Pick<EngineDevice, 'adapter' | 'description'>): boolean {
  const info = dev.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(dev.description);
}

/** The same test on an adapter's info alone (inference, which opens no engine device). */
export function isSoftwareAdapterInfo(info: Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'description'> & { readonly isFallbackAdapter?: boolean }): boolean {
  return info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test([info.vendor, info.architecture, info.description].join(' '));
}
