/**
 * Seahorse's PEFT methods on the engine (see README.md): LoRA-PT (t-SVD principal tensors) on
 * UNETR, HyPS (principal factors + serial adapters) on SwinUNETR, LoRA, PiSSA, decoder-only and
 * full fine-tuning; adapter files; merging into ONNX. Browser-safe (no Node imports).
 */
export { AdaptedModel, type HostTensor, type HostTensors, type MethodAdapter } from './adapted-model';
export { ADAPTER_EXTENSION, ADAPTER_MAGIC, ADAPTER_VERSION, checkBase, decodeAdapter, encodeAdapter, type Adapter, type AdapterBase } from './adapter-file';
export { applyAdapterToOnnx, makeAdapter, methodStateOf, overlaySource, type AdapterProvenance, type AppliedOnnx } from './apply';
export { AdapterFileError, BaseModelMismatchError, PeftConfigError } from './errors';
export { fingerprintModel, fingerprintSource, fingerprintTensors } from './fingerprint';
export { mergeWeights, modelShapeOf, writeMergedOnnx, type MergedWeights } from './merge';
export {
  attachMethod, baseTrainable, countTrainable, initialiseMethod, METHODS, resolveMethod, restoreMethod,
  type MethodConfig, type MethodInfo, type MethodInit, type MethodName, type ResolvedMethodConfig, type TrainableCount,
} from './methods';
export { principalTSVD, principalPart, type PrincipalFactors, type TsvdOptions } from './tsvd';
export { isDecoderParam, loraptTensorSpecs, targetLinears, type LinearTarget, type LoraptTensorSpec, type ModelShape } from './targets';
