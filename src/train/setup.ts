/**
 * Opening a base model for fine-tuning, shared by the CLI and the studio's training worker:
 * the MONAI ONNX export (weights by state-dict name) → the engine model with the method's
 * trainable set → the method attached (t-SVD / SVD initialisation) → the base fingerprint that
 * the adapter file will carry. Or, from an adapter file, the same state again (to continue
 * training or to run the adapted model on the engine).
 */
import type { Engine } from '../engine';
import { buildModel, readOnnxModel } from '../models/load';
import type { ModelSpec } from '../models/infer-config';
import type { ExternalFiles } from '../onnx/external-data';
import type { AdaptedModel } from '../peft/adapted-model';
import { checkBase, type Adapter } from '../peft/adapter-file';
import { methodStateOf, overlaySource } from '../peft/apply';
import { fingerprintSource } from '../peft/fingerprint';
import { modelShapeOf } from '../peft/merge';
import { attachMethod, baseTrainable, resolveMethod, restoreMethod, type MethodConfig, type ResolvedMethodConfig } from '../peft/methods';
import type { TsvdOptions } from '../peft/tsvd';

export interface FineTuneSetup {
  readonly adapted: AdaptedModel;
  readonly method: ResolvedMethodConfig;
  readonly spec: ModelSpec;
  /** The base weights' fingerprint (taken before any training). */
  readonly fingerprint: string;
}

export interface OpenOptions {
  externalData?: ExternalFiles;
  /** The model's name in messages and in the adapter file. */
  label?: string;
  /** Progress of the t-SVD (LoRA-PT). */
  tsvd?: TsvdOptions;
}

/** A base model from its ONNX bytes, with `method` attached at its initialisation. */
export async function openForFineTuning(engine: Engine, onnxBytes: Uint8Array, method: MethodConfig, opts: OpenOptions = {}): Promise<FineTuneSetup> {
  const { spec, source } = readOnnxModel(onnxBytes, { externalData: opts.externalData, label: opts.label });
  const shape = modelShapeOf(spec.kind, spec.config as unknown as Record<string, unknown>);
  const resolved = resolveMethod(shape, method);
  const fingerprint = await fingerprintSource(source, shape.paramSpecs, spec.kind);
  const model = buildModel(engine, spec, source, { trainable: baseTrainable(spec.kind, resolved) });
  try {
    return { adapted: await attachMethod(model, resolved, opts.tsvd), method: resolved, spec, fingerprint };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The state an adapter file describes, on the engine: its base model (checked by fingerprint)
 * with the adapter's trained base parameters, and the method's tensors.
 */
export async function openAdapter(engine: Engine, onnxBytes: Uint8Array, adapter: Adapter, opts: OpenOptions = {}): Promise<FineTuneSetup> {
  const { spec, source } = readOnnxModel(onnxBytes, { externalData: opts.externalData, label: opts.label });
  const shape = modelShapeOf(spec.kind, spec.config as unknown as Record<string, unknown>);
  const fingerprint = await fingerprintSource(source, shape.paramSpecs, spec.kind);
  checkBase(adapter, spec.kind, fingerprint, opts.label);
  const names = new Set(shape.paramSpecs.map((s) => s.name));
  const model = buildModel(engine, spec, overlaySource(source, adapter.trained, names), { trainable: baseTrainable(spec.kind, adapter.method) });
  try {
    return { adapted: await restoreMethod(model, adapter.method, methodStateOf(adapter, model)), method: adapter.method, spec, fingerprint };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
