/** ONNX model tooling on onnx-proto: read, describe, inline external data, rewrite for WebGPU, write. */
export { decodeModel, serializeModel, type ModelProto } from './proto';
export { describeModel, modelInputSize, type ModelDescription, type TensorInfo } from './describe';
export { externalLocations, inlineExternalData, type ExternalFiles } from './external-data';
export { getInitializer } from './initializers';
export { rewriteConvTranspose, type RewriteReport } from './convtranspose';
export { inlineModel, prepareForWeb } from './prepare';
