/**
 * Why a scan cannot be used. `message` is written for the person who dropped the file
 * (what is wrong and what to do); `code` lets the UI and the CLI react by kind.
 */
export type VolumeProblem =
  | 'empty-file'
  | 'unsupported-format'
  | 'corrupt'
  | 'truncated'
  | 'unsupported-datatype'
  | 'not-3d'
  | 'multi-volume'
  | 'empty-dimension'
  | 'too-large'
  | 'bad-geometry'
  | 'non-finite'
  | 'constant';

export class VolumeReadError extends Error {
  override readonly name = 'VolumeReadError';
  constructor(
    readonly code: VolumeProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Formats a count for messages: 16777216 → "16,777,216". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
