/**
 * MONAI UNETR and SwinUNETR on the Seahorse engine (see README.md): MONAI state-dict names and
 * registration order, weights from fixture files, ONNX exports or engine checkpoints, forward
 * hooks for PEFT. Browser-safe (no Node imports).
 */
export { UNETR, resolveUNETRConfig, UNETR_PATCH, UNETR_SKIP_BLOCKS, type UNETRConfig, type ResolvedUNETRConfig } from './unetr';
export { SwinUNETR, resolveSwinUNETRConfig, type SwinUNETRConfig, type ResolvedSwinUNETRConfig } from './swinunetr';
export type { SegmentationModel, ModelKind, Triple } from './model';
export { ForwardContext, LEAKY_SLOPE, type ForwardOptions, type LeakyReluCall } from './context';
export { ParamSet, loadParams, initParams, matchWeights, countParams, type ParamSpec, type ParamInit, type LoadOptions } from './params';
export { indexedWeightSource, onnxWeightSource, mapWeightSource, type WeightSource, type WeightInfo, type WeightIndex } from './weights';
export { encodeCheckpoint, decodeCheckpoint, checkpointWeightSource, CHECKPOINT_MAGIC, CHECKPOINT_VERSION, type Checkpoint, type CheckpointTensor } from './checkpoint';
export { inferConfigFromWeights, detectKind, numHeadsFromOnnxGraph, type ModelSpec, type ConfigHints } from './infer-config';
export { buildModel, loadOnnxModel, saveCheckpoint, loadCheckpoint, type OnnxLoadOptions } from './load';
export { ModelConfigError, WeightsError } from './errors';
export type { MergingOrder } from './swin';
