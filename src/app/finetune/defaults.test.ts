import { describe, expect, it } from 'vitest';
import { resolveMethod } from '../../peft/methods';
import { SAM_FINETUNE_DEFAULTS } from '../../sam/training-data';
import { hasDecoderChoice } from '../../train/finetune-defaults';
import { defaultMethod, defaultSamDockSettings, defaultSettings, followFindings, methodConfigOf, methodForBase, methodLabel, methodsFor, methodsForTarget, modelKind, NOTHING_BY_HAND, pickedBy, samSettings } from './defaults';

describe('fine-tune defaults', () => {
  it('the method follows the base: LoRA-PT for UNETR, HyPS for SwinUNETR', () => {
    expect(defaultMethod(modelKind({ architecture: 'UNETR' }))).toBe('lorapt');
    expect(defaultMethod(modelKind({ architecture: 'SwinUNETR' }))).toBe('hyps');
    expect(defaultSettings('swinunetr').method).toBe('hyps');
  });

  it('offers only methods that apply: no LoRA-PT for a SwinUNETR', () => {
    expect(methodsFor('swinunetr')).toEqual(['hyps', 'lora', 'pissa', 'decoder', 'full']);
    expect(methodsFor('unetr')).toEqual(['lorapt', 'hyps', 'lora', 'pissa', 'decoder', 'full']);
    // What is not offered is what training refuses (resolveMethod's architecture check).
    for (const kind of ['unetr', 'swinunetr'] as const) {
      for (const method of ['lorapt', 'hyps', 'lora', 'pissa', 'decoder', 'full'] as const) {
        if (methodsFor(kind).includes(method)) continue;
        expect(() => resolveMethod({ kind } as never, { method })).toThrow(/applies to unetr, not to a swinunetr/);
      }
    }
  });

  it('switching base: the default unless a hand-picked method still applies', () => {
    expect(methodForBase('lorapt', false, 'swinunetr')).toBe('hyps');
    expect(methodForBase('lorapt', true, 'swinunetr')).toBe('hyps'); // cannot apply
    expect(methodForBase('lora', true, 'swinunetr')).toBe('lora');
    expect(methodForBase('hyps', false, 'unetr')).toBe('lorapt');
  });

  it("lr, length and batch are the few-shot grid's (bench/fewshot: the validation sweep's rates, 80 steps of 2)", () => {
    expect(defaultSettings('swinunetr')).toMatchObject({ method: 'hyps', lr: 1e-3, length: { unit: 'steps', value: 80 }, batch: 2 });
    expect(defaultSettings('unetr')).toMatchObject({ method: 'lorapt', lr: 3e-4 });
  });

  it('the rate follows the method and the decoder the number of training scans, unless set by hand', () => {
    const swin = defaultSettings('swinunetr');
    // SwinUNETR's decoder-only took 1e-4 in the sweep, its adapters 1e-3.
    const decoder = followFindings({ ...swin, method: 'decoder' }, pickedBy(NOTHING_BY_HAND, { method: 'decoder' }), 'swinunetr', 1);
    expect(decoder).toMatchObject({ method: 'decoder', lr: 1e-4 });
    // One or two scans: the adapters alone; three and more: the decoder too.
    expect(followFindings(swin, NOTHING_BY_HAND, 'swinunetr', 1).trainDecoder).toBe(false);
    expect(followFindings(swin, NOTHING_BY_HAND, 'swinunetr', 2).trainDecoder).toBe(false);
    expect(followFindings(swin, NOTHING_BY_HAND, 'swinunetr', 3).trainDecoder).toBe(true);
    // What the user set stays: a rate, the decoder box, a method that still applies.
    const byHand = pickedBy(NOTHING_BY_HAND, { lr: 5e-4, trainDecoder: true, method: 'lora' });
    expect(followFindings({ ...swin, lr: 5e-4, trainDecoder: true, method: 'lora' }, byHand, 'unetr', 1)).toMatchObject({ method: 'lora', lr: 5e-4, trainDecoder: true });
    // A new base: its method and rate; the rank typed for the old method is dropped.
    expect(followFindings({ ...swin, rank: 8 }, NOTHING_BY_HAND, 'unetr', 3)).toMatchObject({ method: 'lorapt', lr: 3e-4, rank: null, trainDecoder: true });
    // Nothing to change: the same object (the store is not written).
    const settled = followFindings(swin, NOTHING_BY_HAND, 'swinunetr', 3);
    expect(followFindings(settled, NOTHING_BY_HAND, 'swinunetr', 3)).toBe(settled);
  });

  it("Segment Anything: the CLI's two methods (decoder-only first), with the CLI's settings and the twelve structures", () => {
    expect(methodsForTarget('sam', 'unetr')).toEqual(['decoder', 'lora']);
    expect(methodsForTarget('sam', undefined)).toEqual(['decoder', 'lora']);
    expect(methodsForTarget('studio', 'swinunetr')).toEqual(methodsFor('swinunetr'));
    expect(methodLabel('decoder', 'sam')).toMatch(/mask decoder/);
    expect(methodLabel('lora', 'sam')).toBe('LoRA on the image encoder + decoder');
    expect(methodLabel('decoder', 'studio')).toBe('Decoder only');
    const s = samSettings();
    expect(s).toMatchObject({ method: 'decoder', lr: SAM_FINETUNE_DEFAULTS.lr, batch: SAM_FINETUNE_DEFAULTS.batch, augment: false });
    expect(s.length).toEqual({ unit: 'steps', value: SAM_FINETUNE_DEFAULTS.steps });
    expect(defaultSamDockSettings()).toEqual({ structures: '17,53,18,54,10,49,12,51,11,50,13,52', plane: 'all', slicesPerScan: 24, warmup: 10, loraStages: [3], loraLr: null, startFrom: 'default' });
  });

  it('the method config: an unticked decoder box freezes the decoder, and only adapter methods can freeze it', () => {
    expect(defaultSettings('swinunetr').trainDecoder).toBe(false); // no scans yet: below DECODER_FROM_SCANS
    expect(methodConfigOf({ method: 'hyps', rank: null, trainDecoder: true })).toEqual({ method: 'hyps' });
    expect(methodConfigOf({ method: 'hyps', rank: 4, trainDecoder: false })).toEqual({ method: 'hyps', rank: 4, trainDecoder: false });
    expect(methodConfigOf({ method: 'decoder', rank: null, trainDecoder: false })).toEqual({ method: 'decoder' });
    expect(methodConfigOf({ method: 'full', rank: null, trainDecoder: false })).toEqual({ method: 'full' });
    // Settings stored before the choice existed keep the decoder training.
    expect(methodConfigOf({ method: 'lorapt', rank: null } as never)).toEqual({ method: 'lorapt' });
    expect(['lora', 'pissa', 'lorapt', 'hyps'].every((m) => hasDecoderChoice(m as never))).toBe(true);
  });
});
