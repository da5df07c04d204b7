/**
 * IEEE 754 binary16 ("half") ↔ float32, for storing weights at half the size (the adapter file's
 * float16 tensors). Pure functions on bit patterns; no Float16Array (Node 20 has none).
 *
 * float32 → float16 rounds to nearest, ties to even, as numpy's `astype(np.float16)` and
 * PyTorch's `.half()` do; subnormal halves are produced and read. Values beyond the largest half
 * (65504, after rounding) become ±Infinity, which callers that need finite weights must refuse.
 */

/** The largest finite half: (2 − 2⁻¹⁰) · 2¹⁵. */
export const FLOAT16_MAX = 65504;
/** The relative spacing of halves in the normal range: 2⁻¹⁰ (rounding error ≤ half of it). */
export const FLOAT16_EPSILON = 2 ** -10;
/** The smallest positive normal half: 2⁻¹⁴ (below it the absolute spacing is 2⁻²⁴). */
export const FLOAT16_MIN_NORMAL = 2 ** -14;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bit pattern nearest to `x` (ties to even). */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN (quiet)
  // Unbiased exponent; halves are normal for −14 … 15.
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // Normal: keep 10 of 23 mantissa bits, round the 13 dropped ones to nearest even.
    const half = sign | ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    // A carry out of the mantissa bumps the exponent (and 65520+ rounds to Infinity): correct as is.
    return rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half;
  }
  if (e < -25) return sign; // below half the smallest subnormal (2⁻²⁵): ±0
  // Subnormal half: value = m · 2⁻²⁴ with the implicit 1 made explicit.
  mant |= 0x800000;
  const shift = -e - 1; // 14 … 24: bits of the 24-bit significand dropped
  const m = mant >>> shift;
  const rest = mant & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return sign | (rest > halfway || (rest === halfway && m & 1) ? m + 1 : m);
}

/** The value of a binary16 bit pattern. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Writes `values` as little-endian halves at `offset`. */
export function writeFloat16(view: DataView, offset: number, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) view.setUint16(offset + 2 * i, float32ToFloat16Bits(values[i]), true);
}

/** Reads `n` little-endian halves at `offset` as float32. */
export function readFloat16(view: DataView, offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(view.getUint16(offset + 2 * i, true));
  return out;
}
