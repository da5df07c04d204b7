/**
 * gzip (.nii.gz, .mgz) through fflate's streaming inflater, which (unlike its one-shot
 * gunzipSync) handles multi-member files such as bgzip output and never trusts the
 * trailer's size field. Failures become VolumeReadErrors.
 */
import { Gunzip } from 'fflate';
import { VolumeReadError } from './errors';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gzipFailure(fileName: string, err: unknown): VolumeReadError {
  const why = err instanceof Error ? err.message : String(err);
  if (/EOF|end of/i.test(why)) {
    return new VolumeReadError('truncated', `${fileName} is cut short: the compressed data ends early (an incomplete download or copy?). Get the file again.`);
  }
  return new VolumeReadError('corrupt', `${fileName} is damaged: it looks gzip-compressed but cannot be decompressed (${why}).`);
}

/** Compressed bytes fed to the inflater per step. */
const INPUT_CHUNK = 64 * 1024;

/**
 * The first `n` decompressed bytes, inflating only as much input as needed (so a header
 * can be checked before a huge body is inflated, and trailing data is never inflated).
 * Returns fewer bytes when the stream is shorter; the caller reports that.
 */
export function gunzipPrefix(bytes: Uint8Array, n: number, fileName: string): Uint8Array {
  const out = new Uint8Array(n);
  let have = 0;
  const stream = new Gunzip((chunk) => {
    const take = Math.min(chunk.length, n - have);
    out.set(take === chunk.length ? chunk : chunk.subarray(0, take), have);
    have += take;
  });
  try {
    for (let p = 0; p < bytes.length && have < n; p += INPUT_CHUNK) {
      const end = Math.min(p + INPUT_CHUNK, bytes.length);
      stream.push(bytes.subarray(p, end), end === bytes.length);
    }
  } catch (err) {
    // Damage after the bytes we need (e.g. a bad trailer) does not matter.
    if (have < n) throw gzipFailure(fileName, err);
  }
  return have === n ? out : out.subarray(0, have);
}
