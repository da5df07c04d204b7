/** Errors from building models and loading their weights; each names the tensor or setting at fault. */

/** A configuration the model (or this implementation of it) cannot hold. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

/** Weights that are missing, misnamed, mis-shaped, non-finite, or do not describe the model asked for. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}
