/**
 * gzip on Node's native zlib: several times faster than fflate's JavaScript inflater on a
 * 256³ head (the CLI reads one per run). Only the fast path: anything unusual (a damaged or
 * truncated stream, more data than the header promised) returns null, and the caller falls
 * back to the portable reader (gzip.ts), which says what is wrong in words.
 */
import { gunzipSync } from 'node:zlib';

/** Decompressed bytes allowed beyond those needed (MGZ keeps scan parameters and tags after the voxels). */
const TRAILING_SLACK = 1 << 20;

/** The first `size` decompressed bytes of a gzip file, or null when the fast path cannot give them. */
export function gunzipNode(bytes: Uint8Array, size: number): Uint8Array | null {
  try {
    const out = gunzipSync(bytes, { maxOutputLength: size + TRAILING_SLACK });
    return out.length >= size ? out.subarray(0, size) : null;
  } catch {
    return null;
  }
}
