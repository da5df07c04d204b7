import { describe, expect, it } from 'vitest';
import { resolveMethod } from '../../peft/methods';
import { SAM_FINETUNE_DEFAULTS } from '../../sam/training-data';
import { defaultMethod, defaultSamDockSettings, defaultSettings, hasDecoderChoice, methodConfigOf, methodForBase, methodLabel, methodsFor, methodsForTarget, modelKind, samSettings } from './defaults';

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

  it('lr, length and batch are the measured ones (bench/fewshot probes)', () => {
    const s = defaultSettings('swinunetr');
    expect(s.lr).toBe(1e-4);
    expect(s.length).toEqual({ unit: 'steps', value: 15 });
    expect(s.batch).toBe(1);
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
    expect(defaultSamDockSettings()).toEqual({ structures: '17,53,18,54,10,49,12,51,11,50,13,52', plane: 'coronal', slicesPerScan: 24, warmup: 10, loraStages: [3], loraLr: null });
  });

  it('the method config: the decoder trains unless the user unticks it, and only adapter methods can freeze it', () => {
    expect(defaultSettings('swinunetr').trainDecoder).toBe(true);
    expect(methodConfigOf({ method: 'hyps', rank: null, trainDecoder: true })).toEqual({ method: 'hyps' });
    expect(methodConfigOf({ method: 'hyps', rank: 4, trainDecoder: false })).toEqual({ method: 'hyps', rank: 4, trainDecoder: false });
    expect(methodConfigOf({ method: 'decoder', rank: null, trainDecoder: false })).toEqual({ method: 'decoder' });
    expect(methodConfigOf({ method: 'full', rank: null, trainDecoder: false })).toEqual({ method: 'full' });
    // Settings stored before the choice existed keep the decoder training.
    expect(methodConfigOf({ method: 'lorapt', rank: null } as never)).toEqual({ method: 'lorapt' });
    expect(['lora', 'pissa', 'lorapt', 'hyps'].every((m) => hasDecoderChoice(m as never))).toBe(true);
  });
});
