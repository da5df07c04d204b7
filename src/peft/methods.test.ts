/**
 * The method registry's exact trainable counts for the papers' configurations
 * (peft-methods.md §2.1, §2.7, §3.1, §3.3, §4) and its refusals. No weights are needed: counts
 * come from the architectures' parameter lists.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { SwinUNETR } from '../models/swinunetr';
import { UNETR } from '../models/unetr';
import { PeftConfigError } from './errors';
import { countTrainable, methodTensorSelector, resolveMethod, type MethodConfig } from './methods';
import { targetLinears } from './targets';

const engine = createCpuEngine();
afterAll(() => engine.dispose());

/** LoRA-PT's backbone (§2.1): UNETR-768 on 128³, two classes. */
const unetr768 = new UNETR(engine, { inChannels: 1, outChannels: 2, imgSize: 128, featureSize: 16, hiddenSize: 768, mlpDim: 3072, numHeads: 12 });
/** HyPS's backbone (§3.1): SwinUNETR-48, two classes. */
const swin48 = new SwinUNETR(engine, { inChannels: 1, outChannels: 2, featureSize: 48 });
afterAll(() => swin48.dispose());

const count = (m: UNETR | SwinUNETR, cfg: MethodConfig) => countTrainable(m, resolveMethod(m, cfg));

describe('trainable-parameter counts, paper configurations', () => {
  it('UNETR-768 has 93,011,170 parameters and a 2,678,528-parameter decoder', () => {
    expect(count(unetr768, { method: 'full' }).total).toBe(93_011_170);
    expect(count(unetr768, { method: 'decoder' }).total).toBe(2_678_528);
  });

  it('LoRA-PT on UNETR-768: 165,960 at r = 1 without the decoder, as peft-methods.md §2.7', () => {
    const c = count(unetr768, { method: 'lorapt', rank: 1, trainDecoder: false });
    expect(c).toMatchObject({ method: 165_960, base: 0, total: 165_960, modelParams: 93_011_170 });
    expect(count(unetr768, { method: 'lorapt', rank: 2, trainDecoder: false }).total).toBe(332_064);
    expect(count(unetr768, { method: 'lorapt', rank: 4, trainDecoder: false }).total).toBe(664_704);
    expect(count(unetr768, { method: 'lorapt', rank: 8, trainDecoder: false }).total).toBe(1_331_712);
    // Per tensor (§2.7 table): W_up 46,092, W_sa 73,776, W_down 46,092.
    expect(count(unetr768, { method: 'lorapt', ranks: { W_up: 1, W_sa: 2, W_down: 1 }, trainDecoder: false }).total).toBe(46_092 + 147_648 + 46_092);
    // With the decoder, the default.
    expect(count(unetr768, { method: 'lorapt' }).total).toBe(165_960 + 2_678_528);
  });

  it('SwinUNETR-48 has 62,186,708 parameters; HyPS trains 118,080 adapter scalars plus decoders and head', () => {
    expect(count(swin48, { method: 'full' }).total).toBe(62_186_708);
    expect(targetLinears(swin48)).toHaveLength(36);
    // §3.3: serial adapters Σ 2·d·m = 57,600 at d = 2; the factorised parallel branch Σ r(m+n) = 60,480 at r = 2;
    // decoders + out 19,597,922 (released-code total 19,655,522 = 57,600 + 19,597,922).
    const c = count(swin48, { method: 'hyps' });
    expect(c).toMatchObject({ method: 57_600 + 60_480, base: 19_597_922, total: 19_716_002 });
    expect(count(swin48, { method: 'decoder' }).total).toBe(19_597_922);
  });

  it('LoRA and PiSSA count r·(m + n) per encoder Linear', () => {
    // UNETR-768 block: qkv 2304×768, out_proj 768×768, linear1 3072×768, linear2 768×3072.
    const perBlock = 3072 + 1536 + 3840 + 3840;
    expect(count(unetr768, { method: 'lora', rank: 8, trainDecoder: false }).total).toBe(12 * 8 * perBlock);
    expect(count(unetr768, { method: 'pissa', rank: 4, trainDecoder: false }).total).toBe(12 * 4 * perBlock);
  });
});

describe('configuration errors', () => {
  it('refuses a rank larger than a weight allows', () => {
    expect(() => resolveMethod(unetr768, { method: 'lorapt', rank: 769 })).toThrow(/LoRA-PT W_up \(12 slices of 3072×768\): rank 769 is larger than this 3072×768 weight allows \(at most 768\)/);
    expect(() => resolveMethod(swin48, { method: 'hyps', rank: 49 })).toThrow(/rank 49 is larger than this 144×48 weight allows \(at most 48\)/);
    expect(() => resolveMethod(unetr768, { method: 'lora', rank: 0 })).toThrow(PeftConfigError);
  });

  it('applies LoRA-PT to UNETR only, and knows its methods', () => {
    expect(() => resolveMethod(swin48, { method: 'lorapt' })).toThrow(/LoRA-PT applies to unetr, not to a swinunetr/);
    expect(() => resolveMethod(swin48, { method: 'dora' as never })).toThrow(/unknown fine-tuning method "dora"/);
  });

  it('selects method tensors by name for a trainOnly probe, and refuses a part that selects nothing', () => {
    const names = ['W_up.Ur', 'W_up.Sr', 'W_sa.Ur', 'W_sa.Sr', 'W_down.Sr'];
    const sa = methodTensorSelector('lorapt', names, ['W_sa']);
    expect(names.filter(sa)).toEqual(['W_sa.Ur', 'W_sa.Sr']);
    expect(names.filter(methodTensorSelector('lorapt', names, ['Sr']))).toEqual(['W_up.Sr', 'W_sa.Sr', 'W_down.Sr']);
    expect(names.filter(methodTensorSelector('lorapt', names, ['W_up', 'W_down']))).toEqual(['W_up.Ur', 'W_up.Sr', 'W_down.Sr']);
    expect(() => methodTensorSelector('lorapt', names, ['W_qkv'])).toThrow(/trainOnly "W_qkv" matches none of LoRA-PT's tensors \(e\.g\. W_up\.Ur, W_up\.Sr, W_sa\.Ur\)/);
    expect(() => methodTensorSelector('lorapt', names, [])).toThrow(/trainOnly is empty/);
    expect(() => methodTensorSelector('decoder', [], ['decoder'])).toThrow(/Decoder only has none/);
  });
});
