import { externalLocations, inlineExternalData, type ExternalFiles } from './external-data';
import { rewriteConvTranspose } from './convtranspose';
import { decodeModel, serializeModel, type ModelProto } from './proto';

/**
 * Model bytes for onnxruntime-web's WebGPU provider: external weights inlined (given
 * as `location` → bytes, the locations the model names) and 3-D ConvTranspose
 * rewritten. The result is one self-contained ONNX file.
 */
export function prepareForWeb(bytes: Uint8Array, externalData?: ExternalFiles): Uint8Array {
  const model = decodeModel(bytes);
  const external = externalLocations(model).length > 0;
  inlineExternalData(model, externalData);
  // Nothing inlined or rewritten (the shipped models): the bytes as they came, without
  // re-encoding 18–36 MB on the page's load.
  if (rewriteConvTranspose(model).rewritten === 0 && !external) return bytes;
  return serializeModel(model);
}

/**
 * Self-contained model bytes (external weights inlined), graph unchanged: for onnxruntime-node.
 * `decoded` is `bytes` already decoded, when the caller has it (decoding 18 MB takes ~0.15 s);
 * it is changed in place when weights are inlined.
 */
export function inlineModel(bytes: Uint8Array, externalData?: ExternalFiles, decoded?: ModelProto): Uint8Array {
  const model = decoded ?? decodeModel(bytes);
  if (externalLocations(model).length === 0) return bytes;
  inlineExternalData(model, externalData);
  return serializeModel(model);
}
