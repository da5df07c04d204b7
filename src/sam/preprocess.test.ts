import { describe, expect, it } from 'vitest';
import { lowResToSlice, SAM_LOW_RES } from './postprocess';
import { bilinear, intensityWindow, resizeGeometry, SAM_IMAGE_SIZE, SAM_PIXEL_MEAN, SAM_PIXEL_STD, samEncoderInput } from './preprocess';
import { encodePrompt, LABEL_BOX_BOTTOM_RIGHT, LABEL_BOX_TOP_LEFT, LABEL_PADDING, maskBox } from './prompts';

describe('SAM preprocessing', () => {
  it('longest side to 1024 as SAM rounds it; non-square pixels keep their physical aspect', () => {
    expect(resizeGeometry(256, 256)).toMatchObject({ resizedWidth: 1024, resizedHeight: 1024, scaleX: 4, scaleY: 4 });
    // ResizeLongestSide.get_preprocess_shape(170, 256, 1024) = (680, 1024)
    expect(resizeGeometry(256, 170)).toMatchObject({ resizedWidth: 1024, resizedHeight: 680 });
    // 100 × 50 pixels of 1 × 3 mm: 100 mm × 150 mm → 683 × 1024
    const g = resizeGeometry(100, 50, [1, 3]);
    expect(g).toMatchObject({ resizedWidth: 683, resizedHeight: 1024 });
    expect(g.scaleY / g.scaleX).toBeCloseTo(3, 2);
  });

  it('window, grey → RGB, per-channel mean/std, zero padding after normalisation', () => {
    const g = resizeGeometry(4, 2); // 1024 × 512
    const slice = Float32Array.from([0, 50, 100, 200, 100, 100, 100, 100]);
    const input = samEncoderInput(slice, g, { lo: 0, hi: 100 });
    const n = SAM_IMAGE_SIZE ** 2;
    expect(input.length).toBe(3 * n);
    // Pixel (0, 0) of the resize samples the top-left corner: grey 0.
    for (let c = 0; c < 3; c++) expect(input[c * n]).toBeCloseTo((0 - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c], 5);
    // The bottom-right of the resized image is a clipped 100 → 255.
    const q = 1023 + SAM_IMAGE_SIZE * 511;
    for (let c = 0; c < 3; c++) expect(input[c * n + q]).toBeCloseTo((255 - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c], 5);
    // Below the resized image: padding, 0.
    expect(input[5 + SAM_IMAGE_SIZE * 512]).toBe(0);
    expect(input[2 * n + 1023 + SAM_IMAGE_SIZE * 1023]).toBe(0);
  });

  it('bilinear with half-pixel centres (align_corners=False), clamped at the edges', () => {
    const img = [0, 10, 20, 30]; // 2 × 2
    expect(bilinear(img, 2, 2, 0.5, 0)).toBe(5);
    expect(bilinear(img, 2, 2, 0.5, 0.5)).toBe(15);
    expect(bilinear(img, 2, 2, -3, 7)).toBe(20);
  });

  it('the intensity window ignores zeros and outliers', () => {
    const data = new Float32Array(10_000);
    for (let p = 5000; p < 10_000; p++) data[p] = 100 + (p % 100);
    data[9999] = 1e6;
    const w = intensityWindow(data);
    expect(w.lo).toBeGreaterThanOrEqual(100);
    expect(w.hi).toBeLessThan(200);
  });
});

describe('SAM prompts', () => {
  const g = resizeGeometry(256, 128); // scale 4 both ways: 1024 × 512

  it('a box becomes two corners labelled 2 and 3, scaled into the 1024 image, without a padding point', () => {
    const p = encodePrompt({ box: { x0: 10, y0: 20, x1: 30, y1: 40 }, points: [{ x: 15, y: 25, positive: false }] }, g);
    expect(Array.from(p.coords)).toEqual([60, 100, 40, 80, 120, 160]);
    expect(Array.from(p.labels)).toEqual([0, LABEL_BOX_TOP_LEFT, LABEL_BOX_BOTTOM_RIGHT]);
  });

  it('points alone get SAM ONNX padding point (0, 0) labelled −1', () => {
    const p = encodePrompt({ points: [{ x: 1, y: 2, positive: true }] }, g);
    expect(Array.from(p.coords)).toEqual([4, 8, 0, 0]);
    expect(Array.from(p.labels)).toEqual([1, LABEL_PADDING]);
  });

  it('refuses empty prompts, prompts off the slice and reversed boxes', () => {
    expect(() => encodePrompt({}, g)).toThrow(/box or at least one point/);
    expect(() => encodePrompt({ points: [{ x: 256, y: 0, positive: true }] }, g)).toThrow(/outside the 256 × 128 slice/);
    expect(() => encodePrompt({ box: { x0: 5, y0: 5, x1: 4, y1: 9 } }, g)).toThrow(/reversed/);
  });

  it('maskBox: inclusive bounds, null for an empty mask', () => {
    const m = new Uint8Array(6 * 4);
    expect(maskBox(m, 6, 4)).toBeNull();
    m[2 + 6 * 1] = 1;
    m[4 + 6 * 3] = 1;
    expect(maskBox(m, 6, 4)).toEqual({ x0: 2, y0: 1, x1: 4, y1: 3 });
  });
});

describe('low-res mask → slice grid', () => {
  it('a slice pixel reads the low-res logit its centre maps to; padding is never read', () => {
    // 256 × 128 slice: the resized image is the top half of the 1024 square, rows 0–127 of the low-res grid.
    const g = resizeGeometry(256, 128);
    const low = new Float32Array(SAM_LOW_RES * SAM_LOW_RES).fill(-5);
    for (let y = 0; y < 128; y++) for (let x = 0; x < 256; x++) low[x + SAM_LOW_RES * y] = x < 64 ? 3 : -3;
    const out = lowResToSlice(low, g);
    expect(out.length).toBe(256 * 128);
    // Slice pixel x ↔ low-res x (scale 4 then 1/4): exact at every pixel away from the edge at 63/64.
    expect(out[10 + 256 * 127]).toBe(3);
    expect(out[200 + 256 * 127]).toBe(-3);
    expect(out[63]).toBe(3);
    expect(out[64]).toBe(-3);
  });
});
