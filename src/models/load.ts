/**
 * Building a model from any weight source: MONAI ONNX exports (external data, ConvTranspose
 * rewritten for ORT WebGPU or not), engine checkpoints, or an explicit configuration.
 */
import type { Engine } from '../engine';
import { inlineExternalData, type ExternalFiles } from '../onnx/external-data';
import { modelInputSize } from '../onnx/describe';
import { decodeModel, type ModelProto } from '../onnx/proto';
import { checkpointWeightSource, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint';
import { WeightsError } from './errors';
import { inferConfigFromWeights, numHeadsFromOnnxGraph, SIGNATURES, type ConfigHints, type ModelSpec } from './infer-config';
import type { SegmentationModel } from './model';
import type { LoadOptions } from './params';
import { SwinUNETR, type SwinUNETRConfig } from './swinunetr';
import { UNETR, type UNETRConfig } from './unetr';
import { onnxWeightSource, type WeightInfo, type WeightSource } from './weights';

export function buildModel(engine: Engine, spec: ModelSpec, source: WeightSource, opts?: LoadOptions): SegmentationModel {
  return spec.kind === 'unetr' ? UNETR.load(engine, spec.config, source, opts) : SwinUNETR.load(engine, spec.config, source, opts);
}

/** KERNEL_TAPS of a k2 s2 transposed conv (2×2×2). */
const TAPS = 8;
/** src/onnx/convtranspose.ts names its 1×1×1 weights `<node name or weight name>/seahorse_conv1x1[_n]/weight`. */
const REWRITTEN = /^(.*)\/seahorse_conv1x1(?:_\d+)?\/weight$/;

/** The MONAI weight name behind a rewritten ConvTranspose: the prefix itself, or its torch export node path. */
function originalName(prefix: string): string {
  if (!prefix.startsWith('/')) return prefix;
  // "/decoder5/transp_conv/conv/ConvTranspose" → "decoder5.transp_conv.conv.weight"
  return `${prefix.slice(1).replace(/\/ConvTranspose(_\d+)?$/, '').split('/').join('.')}.weight`;
}

/**
 * An ONNX model's initializers as MONAI weights, undoing src/onnx's ConvTranspose rewrite:
 * W'[o·8 + tap, i, 1, 1, 1] goes back to W[i, o, 2, 2, 2] under its state-dict name.
 */
function onnxSourceUndoingRewrite(model: ModelProto, label: string): WeightSource {
  const base = onnxWeightSource(model, label);
  const renamed = new Map<string, { from: string; shape: number[] }>();
  const infos: WeightInfo[] = base.list().map((info) => {
    const m = REWRITTEN.exec(info.name);
    if (!m || info.shape.length !== 5 || info.shape[0] % TAPS !== 0) return info;
    const name = originalName(m[1]);
    const shape = [info.shape[1], info.shape[0] / TAPS, 2, 2, 2];
    renamed.set(name, { from: info.name, shape });
    return { ...info, name, shape };
  });
  return {
    label,
    list: () => infos,
    read(name) {
      const r = renamed.get(name);
      if (!r) return base.read(name);
      const w1 = base.read(r.from);
      const [ci, co] = r.shape;
      const w = new Float32Array(w1.length);
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) for (let t = 0; t < TAPS; t++) w[(i * co + o) * TAPS + t] = w1[(o * TAPS + t) * ci + i];
      return w;
    },
  };
}

export interface OnnxLoadOptions extends LoadOptions, ConfigHints {
  /** External-data files by the `location` the model names (e.g. "weights.bin"). */
  externalData?: ExternalFiles;
  label?: string;
}

/**
 * The configuration and weights of a MONAI ONNX export, without building the model: the
 * configuration inferred from the weights (hints fill what shapes cannot tell; see
 * infer-config.ts), the weights as a source by MONAI name. Throws a clear error for an ONNX
 * that is not a UNETR or SwinUNETR.
 */
export function readOnnxModel(bytes: Uint8Array, opts: Omit<OnnxLoadOptions, keyof LoadOptions> = {}): { spec: ModelSpec; source: WeightSource } {
  const label = opts.label ?? 'the ONNX model';
  const proto = decodeModel(bytes);
  inlineExternalData(proto, opts.externalData);
  const source = onnxSourceUndoingRewrite(proto, label);
  const hints: ConfigHints = { ...opts };
  const names = new Set(source.list().map((i) => i.name));
  if (names.has(SIGNATURES.unetr)) {
    if (hints.imgSize === undefined) {
      try {
        hints.imgSize = modelInputSize(proto);
      } catch {
        // A symbolic input size: fall back to the token-count cube rule.
      }
    }
    if (hints.numHeads === undefined) {
      const hidden = source.list().find((i) => i.name === SIGNATURES.unetr)!.shape[2];
      hints.numHeads = numHeadsFromOnnxGraph(proto, hidden);
    }
  }
  return { spec: inferConfigFromWeights(source, hints), source };
}

/** A UNETR or SwinUNETR from a MONAI ONNX export (see readOnnxModel). */
export function loadOnnxModel(engine: Engine, bytes: Uint8Array, opts: OnnxLoadOptions = {}): { model: SegmentationModel; spec: ModelSpec } {
  const { spec, source } = readOnnxModel(bytes, opts);
  return { model: buildModel(engine, spec, source, opts), spec };
}

/** Serialises a model's current parameters (read back from the device) as a checkpoint. */
export async function saveCheckpoint(model: SegmentationModel, meta?: Record<string, unknown>): Promise<Uint8Array> {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of model.params.entries()) tensors.set(name, { shape: t.shape, data: Float32Array.from(await t.data()) });
  return encodeCheckpoint({ kind: model.kind, config: { ...model.config }, tensors, meta });
}

/** A model from checkpoint bytes (verified: magic, version, SHA-256, names and shapes). */
export async function loadCheckpoint(engine: Engine, bytes: Uint8Array, opts?: LoadOptions): Promise<{ model: SegmentationModel; checkpoint: Checkpoint }> {
  const checkpoint = await decodeCheckpoint(bytes);
  const source = checkpointWeightSource(checkpoint);
  let spec: ModelSpec;
  if (checkpoint.kind === 'unetr') spec = { kind: 'unetr', config: checkpoint.config as unknown as UNETRConfig };
  else if (checkpoint.kind === 'swinunetr') spec = { kind: 'swinunetr', config: checkpoint.config as unknown as SwinUNETRConfig };
  else throw new WeightsError(`checkpoint of unknown model kind "${checkpoint.kind as string}"`);
  return { model: buildModel(engine, spec, source, opts), checkpoint };
}
