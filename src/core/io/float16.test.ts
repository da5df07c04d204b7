import { describe, expect, it } from 'vitest';
import { FLOAT16_EPSILON, FLOAT16_MIN_NORMAL, float16BitsToFloat32, float32ToFloat16Bits, readFloat16, writeFloat16 } from './float16';

// numpy 1.x: `np.array([x], dtype=np.float32).astype(np.float16).view(np.uint16)` (round to nearest even).
const NUMPY: readonly [number, number][] = [
  [1.0, 0x3c00],
  [65504, 0x7bff],
  [65519, 0x7bff],
  [65520, 0x7c00], // halfway to 2¹⁶: ties to even → Infinity
  [2 ** -24, 0x0001],
  [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even → 0
  [2.980232594040899e-8, 0x0001],
  [1 + 2 ** -11, 0x3c00],
  [1 + 3 * 2 ** -11, 0x3c02],
  [0.10000000149011612, 0x2e66],
  [-2, 0xc000],
  [2.9999999242136255e-5, 0x01f7],
  [-6.0999998822808266e-5, 0x83ff],
  [9.99999993922529e-9, 0x0000],
  [0.3333333432674408, 0x3555],
  [-1234.5677490234375, 0xe4d3],
];

describe('float16', () => {
  it('rounds float32 to the half numpy gives', () => {
    for (const [x, h] of NUMPY) expect(float32ToFloat16Bits(x), String(x)).toBe(h);
  });

  it('reads every finite half back to itself', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // Inf / NaN
      const v = float16BitsToFloat32(h);
      if (!Number.isFinite(v) || float32ToFloat16Bits(v) !== h) expect.fail(`half 0x${h.toString(16)} → ${v} → 0x${float32ToFloat16Bits(v).toString(16)}`);
    }
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('picks the nearest half (relative error ≤ 2⁻¹¹ for normals, absolute ≤ 2⁻²⁵ below)', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((rand() - 0.5) * 2 ** (rand() * 40 - 26));
      const h = float32ToFloat16Bits(x);
      const v = float16BitsToFloat32(h);
      const err = Math.abs(v - x);
      const bound = Math.abs(x) >= FLOAT16_MIN_NORMAL ? (FLOAT16_EPSILON / 2) * Math.abs(x) : 2 ** -25;
      if (err > bound) expect.fail(`${x} → ${v}: error ${err} > ${bound}`);
      // No neighbour is closer.
      for (const n of [h - 1, h + 1]) {
        if (n >= 0 && (n & 0x7fff) < 0x7c00 && (n & 0x8000) === (h & 0x8000) && Math.abs(float16BitsToFloat32(n) - x) < err) expect.fail(`${x} → 0x${h.toString(16)}, but 0x${n.toString(16)} is closer`);
      }
    }
  });

  it('writes and reads little-endian arrays', () => {
    const values = [0, -0.5, 1.5, 1000, -3e-6];
    const view = new DataView(new ArrayBuffer(4 + 2 * values.length));
    writeFloat16(view, 4, values);
    expect(view.getUint16(4 + 2 * 2, true)).toBe(0x3e00); // 1.5
    expect(Array.from(readFloat16(view, 4, values.length))).toEqual(values.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x))));
  });
});
