/** Errors of the PEFT layer, each with a message a user can act on. */

/** A PEFT configuration that cannot be applied (rank too large, unknown layer, wrong model). */
export class PeftConfigError extends Error {
  override readonly name = 'PeftConfigError';
}

/** An adapter file that cannot be read: not an adapter, truncated, corrupted, or a newer format. */
export class AdapterFileError extends Error {
  override readonly name = 'AdapterFileError';
}

/** An adapter applied to a model other than the base it was trained on. */
export class BaseModelMismatchError extends Error {
  override readonly name = 'BaseModelMismatchError';
}
