/**
 * From a trained model to an adapter file, and from an adapter file back to a runnable model:
 * - `makeAdapter`: the adapter record of a fine-tuning run (trained tensors, the init tensors
 *   merging needs, the base model's fingerprint, the method and training metadata);
 * - `applyAdapterToOnnx`: the base model's ONNX with the adapter merged in (refuses a different
 *   base), ready for onnxruntime;
 * - `overlaySource`: base weights with an adapter's trained base parameters on top, to rebuild
 *   an engine model that continues training or runs the adapted forward.
 */
import { WeightsError } from '../models/errors';
import { detectKind } from '../models/infer-config';
import type { ModelKind, SegmentationModel } from '../models/model';
import type { WeightInfo, WeightSource } from '../models/weights';
import { onnxWeightSource } from '../models/weights';
import { decodeModel, serializeModel } from '../onnx/proto';
import type { AdaptedModel, HostTensor, HostTensors } from './adapted-model';
import { checkBase, type Adapter } from './adapter-file';
import { BaseModelMismatchError } from './errors';
import { fingerprintSource } from './fingerprint';
import { baseReader, mergeWeights, modelShapeOf, writeMergedOnnx } from './merge';
import type { MethodInit, ResolvedMethodConfig } from './methods';

const KIND_NAMES: Record<ModelKind, string> = { unetr: 'UNETR', swinunetr: 'SwinUNETR' };

export interface AdapterProvenance {
  /** The base model's fingerprint, taken before training (fingerprint.ts). */
  readonly fingerprint: string;
  /** Model id or file name, for people. */
  readonly label?: string;
  /** Free-form training metadata (steps, lr, data, losses, timings). */
  readonly training?: Record<string, unknown>;
}

/** The adapter of a run; `state` is a checkpoint's trained tensors (default: the model's current ones). */
export async function makeAdapter(adapted: AdaptedModel, method: ResolvedMethodConfig, base: AdapterProvenance, state?: ReadonlyMap<string, HostTensor>): Promise<Adapter> {
  const m = adapted.model;
  return {
    method,
    base: { kind: m.kind, config: { ...(m.config as Record<string, unknown>) }, fingerprint: base.fingerprint, label: base.label },
    training: base.training ?? {},
    trained: state ?? (await adapted.trainedState()),
    init: adapted.adapter?.init ?? new Map(),
  };
}

/** The method's tensors of an adapter, as `restoreMethod` takes them. */
export function methodStateOf(adapter: Adapter, model: SegmentationModel): MethodInit {
  const base = new Set(model.paramSpecs.map((s) => s.name));
  const current = new Map([...adapter.trained].filter(([n]) => !base.has(n)));
  return { init: adapter.init, current };
}

/** `base` with the adapter's trained base parameters (decoder, or all of them) in place of the originals. */
export function overlaySource(base: WeightSource, trained: HostTensors, names: ReadonlySet<string>): WeightSource {
  const over = new Map([...trained].filter(([n]) => names.has(n)));
  const infos: WeightInfo[] = base.list().map((i) => (over.has(i.name) ? { ...i, shape: over.get(i.name)!.shape } : i));
  return {
    label: `${base.label} + adapter`,
    list: () => infos,
    read: (name) => over.get(name)?.data ?? base.read(name),
  };
}

export interface AppliedOnnx {
  /** The merged model (self-contained ONNX bytes). */
  readonly bytes: Uint8Array;
  /** Parameters whose values changed, and serial adapters inserted. */
  readonly replaced: number;
  readonly insertedAdapters: number;
}

/**
 * Merges an adapter into its base ONNX model (bytes with external data already inlined).
 * Throws BaseModelMismatchError when the ONNX holds other weights than the adapter's base.
 */
export async function applyAdapterToOnnx(onnxBytes: Uint8Array, adapter: Adapter, label = 'the base model'): Promise<AppliedOnnx> {
  const base = adapter.base;
  if (base.kind === 'sam-decoder' || base.kind === 'sam-lora') throw new BaseModelMismatchError(`this adapter was trained on Segment Anything${base.kind === 'sam-lora' ? ' (image encoder LoRA + mask decoder)' : "'s mask decoder"}; use it with seahorse prompt --adapter, not with ${label}`);
  const proto = decodeModel(onnxBytes);
  const source = onnxWeightSource(proto, label);
  const shape = modelShapeOf(base.kind, base.config);
  const trainedOn = `a ${KIND_NAMES[base.kind]}${base.label ? ` ("${base.label}")` : ''}`;
  let kind: ModelKind;
  try {
    kind = detectKind(source);
  } catch (e) {
    throw new BaseModelMismatchError(`this adapter was trained on ${trainedOn}; ${label} is neither a UNETR nor a SwinUNETR (${e instanceof Error ? e.message : e})`);
  }
  if (kind !== base.kind) throw new BaseModelMismatchError(`this adapter was trained on ${trainedOn}; ${label} is a ${KIND_NAMES[kind]}`);
  let fingerprint: string;
  try {
    fingerprint = await fingerprintSource(source, shape.paramSpecs, KIND_NAMES[kind]);
  } catch (e) {
    if (!(e instanceof WeightsError)) throw e;
    throw new BaseModelMismatchError(`this adapter was trained on ${trainedOn} of another configuration than ${label}: ${e.message}`);
  }
  checkBase(adapter, shape.kind, fingerprint, label);
  const merged = mergeWeights(shape, baseReader(source, shape), adapter);
  writeMergedOnnx(proto, merged);
  return { bytes: serializeModel(proto), replaced: merged.weights.size, insertedAdapters: merged.serial.length };
}
