/**
 * Seahorse's tensor engine: one op API over three backends (`cpu` float64 reference, `webgpu`
 * WGSL float32, `wasm` WebAssembly SIMD float32), reverse-mode autograd, losses and optimisers.
 * See README.md. Browser-safe: the Node entries are `./device-node` and `./wasm/node`.
 */
export type { Backend, MemoryStats, Storage } from './backend';
export { Engine, IndexTensor, randnArray, uniformStream } from './engine';
export { Tensor, type TensorInit } from './tensor';
export { tidy, keep } from './scope';
export { backward, noGrad, isGradEnabled } from './grad';
export { ShapeError, EngineLimitError, DeviceLostError, OutOfMemoryError, DisposedError } from './errors';
export { type Shape, sizeOf } from './shape';
export { createCpuEngine } from './cpu/backend';

export {
  add, sub, mul, div, scale, addScalar, neg, exp, log, sqrt, rsqrt, square, reciprocal, abs,
  relu, leakyRelu, gelu, erf, sigmoid, tanh,
} from './ops/elementwise';
export { sum, mean, sumTo, broadcastTo } from './ops/reduce';
export { reshape, permute, transpose, slice, pad, concat, split, roll, unsqueeze, type SliceRange } from './ops/shape';
export { matmul, linear, type MatmulOptions } from './ops/matmul';
export { softmax, logSoftmax, layerNorm, instanceNorm, gatherRows, attention, type AttentionOptions } from './ops/nn';
export { conv3d, convTranspose3d, type Conv3dOptions } from './ops/conv';
export { conv2d, convTranspose2d, type Conv2dOptions } from './ops/conv2d';
export {
  windowPartition, windowReverse, patchMergeGather, relativePositionIndex, shiftedWindowMask, MERGE_ORDER, SHIFT_MASK_VALUE, type MergeOrder,
} from './ops/swin';
export { diceLoss, diceLossTerms, crossEntropy, oneHot, DICE_EPS } from './loss';
export { Adam, AdamW, type AdamHostArray, type AdamOptions, type AdamSlotState, type AdamState } from './optim/adam';
export { polyLr } from './optim/schedule';
export { requestEngineDevice, engineDeviceOf, isSoftwareAdapter, type EngineDevice, type EngineLimits, type DeviceOptions } from './device';
export { createWebGPUEngine, WebGPUBackend } from './webgpu/backend';
export { createWasmEngine, WasmBackend, type WasmEngineOptions } from './wasm/backend';
