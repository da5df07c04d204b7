/** What UNETR and SwinUNETR have in common, for code that handles either (training, PEFT, CLI). */
import { EngineLimitError, type Engine, type Tensor } from '../engine';
import type { ForwardOptions } from './context';
import { ModelConfigError } from './errors';
import type { ParamSet, ParamSpec } from './params';

export type ModelKind = 'unetr' | 'swinunetr';

export type Triple = readonly [number, number, number];

export interface SegmentationModel {
  readonly kind: ModelKind;
  readonly engine: Engine;
  /** Parameters by MONAI state-dict name, in `named_parameters()` order. */
  readonly params: ParamSet;
  /** The configuration's parameter list (names, shapes), same order as `params`. */
  readonly paramSpecs: readonly ParamSpec[];
  /** The resolved constructor arguments (UNETRConfig / SwinUNETRConfig with defaults filled). */
  readonly config: object;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Logits [B, outChannels, D, H, W] for x [B, inChannels, D, H, W]; the caller owns the result. */
  forward(x: Tensor, opts?: ForwardOptions): Tensor;
  dispose(): void;
}

export function triple(v: number | readonly number[], what: string): Triple {
  const t = typeof v === 'number' ? [v, v, v] : [...v];
  if (t.length !== 3) throw new ModelConfigError(`${what} must be one number or three (D, H, W), got [${t}]`);
  return t as unknown as Triple;
}

export function checkPositiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) throw new ModelConfigError(`${what} must be a positive integer, got ${v}`);
}

export function checkRate(v: number, what: string): void {
  if (!(v >= 0 && v < 1)) throw new ModelConfigError(`${what} must be in [0, 1), got ${v}`);
}

/**
 * Refuses, before any work is queued, an input whose full-resolution feature maps
 * (featureSize × D × H × W per sample: encoder1's output, the largest tensor either model
 * makes, as bench/models.ts measures) exceed the device's per-tensor limit.
 */
export function checkFeatureMapsFit(kind: string, x: Tensor, featureSize: number): void {
  const elements = x.shape[0] * featureSize * x.shape[2] * x.shape[3] * x.shape[4];
  const limit = x.backend.maxElements;
  if (elements > limit) {
    throw new EngineLimitError(
      `${kind} on input ${x.describe()} needs ${featureSize}-channel feature maps of ${elements} elements (encoder1's output), ` +
        `over this device's per-tensor limit of ${limit} (maxStorageBufferBindingSize); use a smaller input window or a device with larger bindings`,
    );
  }
}
