/** Errors the engine raises. Each names the op and tensors involved so callers can show it. */

/** Shapes or arguments that do not fit an op (caught before anything runs on the device). */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** A tensor or dispatch larger than this device's limits allow. */
export class EngineLimitError extends Error {
  override readonly name = 'EngineLimitError';
}

/** The GPU device was lost (driver reset, tab backgrounded, OOM kill). Recreate the engine to recover. */
export class DeviceLostError extends Error {
  override readonly name = 'DeviceLostError';
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** The device reported out-of-memory for work submitted since the last sync. */
export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

/** A tensor used after `dispose()`, or a graph used after `backward()` freed it. */
export class DisposedError extends Error {
  override readonly name = 'DisposedError';
}
