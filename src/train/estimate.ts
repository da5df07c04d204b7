/**
 * What a fine-tuning run will cost, shown before it starts: the exact trainable-parameter count
 * (`countTrainable`, from the configuration alone) and a rough estimate of GPU memory. The
 * estimate is arithmetic, not a measurement: the studio shows the engine's measured peak next
 * to it once training runs.
 */
import type { ModelSpec } from '../models/infer-config';
import { modelShapeOf } from '../peft/merge';
import { countTrainable, resolveMethod, type MethodConfig, type ResolvedMethodConfig, type TrainableCount } from '../peft/methods';

const F32 = 4;
/** Per trainable scalar: its gradient, Adam's two moments and amsgrad's running maximum. */
const OPTIMISER_COPIES = 4;
/**
 * Feature maps of `featureSize` channels at the crop's full resolution that a forward pass keeps
 * for the backward pass: UNETR's and SwinUNETR's encoder1 residual block and decoder's last
 * up-block (convolutions, instance norms, activations, the 2·f concatenation: about 20), plus
 * the coarser stages (each 1/8 of the voxels at twice the channels: ~1/4 of the level above,
 * summing to ~7). Gradients of the same size exist during the backward pass: × 2.
 */
const FULL_RES_MAPS = 27 * 2;

export interface RunEstimate {
  readonly method: ResolvedMethodConfig;
  readonly counts: TrainableCount;
  /** Weights + optimiser state + activations, bytes; null where no estimate is worked out (SAM's decoder). */
  readonly memoryBytes: number | null;
}

export function estimateRun(spec: ModelSpec, method: MethodConfig, batch: number, crop: readonly [number, number, number]): RunEstimate {
  const config = spec.config as unknown as Record<string, unknown>;
  const shape = modelShapeOf(spec.kind, config);
  const resolved = resolveMethod(shape, method);
  const counts = countTrainable(shape, resolved);
  const featureSize = typeof config.featureSize === 'number' ? config.featureSize : 16;
  const voxels = crop[0] * crop[1] * crop[2];
  const weights = counts.modelParams * F32 + counts.method * F32;
  const optimiser = counts.total * F32 * OPTIMISER_COPIES;
  const activations = batch * voxels * featureSize * F32 * FULL_RES_MAPS;
  return { method: resolved, counts, memoryBytes: weights + optimiser + activations };
}
