/** The decoder fine-tuning's pieces (src/sam/finetune.ts) on small known inputs; no model. */
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { candidateTokens, jitteredBox, lowResTarget, rng, samMaskLoss, samplePoints, trainingPairs, warmupLr } from './finetune';
import { resizeGeometry } from './preprocess';

describe('SAM decoder fine-tuning pieces', () => {
  it("a label lands on SAM's low-res grid where the resized image puts it; the padding stays background", () => {
    // 1 mm 256² slice: resized ×4 to 1024², low-res ×1/4: the identity.
    const g = resizeGeometry(256, 256);
    const m = new Uint8Array(256 * 256);
    m[10 + 256 * 20] = 1;
    const t = lowResTarget(m, g);
    expect(t[10 + 256 * 20]).toBe(1);
    expect(t.reduce((a, b) => a + b, 0)).toBe(1);
    // 128 wide × 64 high: resized to 1024 × 512, so low-res 256 × 128 then 128 rows of padding.
    const g2 = resizeGeometry(128, 64);
    const m2 = new Uint8Array(128 * 64).fill(1);
    const t2 = lowResTarget(m2, g2);
    expect(t2.slice(0, 256 * 128).every((v) => v === 1)).toBe(true);
    expect(t2.slice(256 * 128).every((v) => v === 0)).toBe(true);
    // Pixel (x, y) covers low-res columns 2x, 2x+1.
    const m3 = new Uint8Array(128 * 64);
    m3[5 + 128 * 7] = 1;
    const t3 = lowResTarget(m3, g2);
    expect([t3[10 + 256 * 14], t3[11 + 256 * 15], t3[12 + 256 * 14], t3[10 + 256 * 16]]).toEqual([1, 1, 0, 0]);
  });

  it('box prompts frame the structure within −1…+jitter pixels per side; points fall inside and outside', () => {
    const w = 40;
    const h = 30;
    const m = new Uint8Array(w * h);
    for (let y = 10; y <= 15; y++) for (let x = 8; x <= 20; x++) m[x + w * y] = 1;
    const r = rng(3);
    for (let i = 0; i < 50; i++) {
      const b = jitteredBox(m, w, h, 4, r)!.box!;
      expect(b.x0).toBeGreaterThanOrEqual(4);
      expect(b.x0).toBeLessThanOrEqual(9);
      expect(b.x1).toBeGreaterThanOrEqual(19);
      expect(b.x1).toBeLessThanOrEqual(24);
      const p = samplePoints(m, w, h, r)!.points!;
      expect(p).toHaveLength(2);
      expect(m[p[0].x + w * p[0].y]).toBe(1);
      expect(p[0].positive).toBe(true);
      expect(m[p[1].x + w * p[1].y]).toBe(0);
      expect(p[1].positive).toBe(false);
    }
    expect(jitteredBox(new Uint8Array(4), 2, 2, 4, r)).toBeNull();
  });

  it("the loss scores the masks the ONNX model would choose; warm-up then decay; pairs need minPixels", () => {
    expect(candidateTokens(2)).toEqual([1, 4]); // a box, or one click + padding: best of tokens 1–3
    expect(candidateTokens(3)).toEqual([0, 1]); // box + click, or two clicks + padding: token 0
    expect(warmupLr(1e-3, 0, 100, 10)).toBeCloseTo(1e-4);
    expect(warmupLr(1e-3, 9, 100, 10)).toBeCloseTo(1e-3);
    expect(warmupLr(1e-3, 10, 100, 10)).toBeCloseTo(1e-3);
    expect(warmupLr(1e-3, 99, 100, 10)).toBeLessThan(1e-4);
    const g = resizeGeometry(4, 4);
    const labels = Uint8Array.from({ length: 16 }, (_, i) => (i < 3 ? 17 : i < 4 ? 53 : 0));
    expect(trainingPairs([{ id: 'a', embedding: new Float32Array(0), labels, geometry: g }], [17, 53], 2)).toEqual([{ slice: 0, label: 17 }]);
  });

  it('Dice + BCE matches its definition in float64', async () => {
    const e = createCpuEngine();
    const x = [2, -1, 0.5, -3, 1, 1, -2, 0]; // [1, 2, 2, 2]
    const y = [1, 0, 1, 0]; // [1, 1, 2, 2]
    const l = await samMaskLoss(e.tensor(x, [1, 2, 2, 2]), e.tensor(y, [1, 1, 2, 2])).item();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    let dice = 0;
    let bce = 0;
    for (let k = 0; k < 2; k++) {
      let inter = 0;
      let sp = 0;
      for (let i = 0; i < 4; i++) {
        const v = x[4 * k + i];
        inter += sig(v) * y[i];
        sp += sig(v);
        bce += -(y[i] * Math.log(sig(v)) + (1 - y[i]) * Math.log(1 - sig(v)));
      }
      dice += 1 - (2 * inter + 1e-5) / (sp + 2 + 1e-5);
    }
    expect(l).toBeCloseTo(dice / 2 + bce / 8, 12);
  });
});
