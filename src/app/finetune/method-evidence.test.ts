import { describe, expect, it } from 'vitest';
import type { FewshotEvidence } from '../../train/fewshot-evidence';
import FEWSHOT_EVIDENCE from './fewshot-evidence.json' with { type: 'json' };
import { methodEvidence } from './method-evidence';

const evidence: FewshotEvidence = {
  source: 'test',
  k: 3,
  domain: 'MSD Task04 under the simulated scanner',
  models: {
    swinunetr: {
      zeroShot: 0.8321,
      heldOut: 20,
      steps: 80,
      lr: '1e-3',
      methods: { hyps: { withDecoder: { dice: 0.8364, seeds: 2 }, withoutDecoder: { dice: 0.8431, seeds: 1 } }, decoder: { withDecoder: { dice: 0.836, seeds: 2 } } },
    },
  },
};

describe('methodEvidence', () => {
  it('one row per offered method the benchmark measured, in the offered order, with seeds', () => {
    const t = methodEvidence(evidence, 'swinunetr', ['full', 'decoder', 'lora', 'hyps'])!;
    expect(t.zeroShot).toBe('0.832');
    expect(t.rows).toEqual([
      { method: 'decoder', label: 'Decoder only', withDecoder: '0.836 (2 seeds)', withoutDecoder: '–' },
      { method: 'hyps', label: 'HyPS', withDecoder: '0.836 (2 seeds)', withoutDecoder: '0.843 (1 seed)' },
    ]);
    expect(t.caption).toMatch(/SwinUNETR adapted from 3 labelled scans .* 80 steps, .* on 20 held-out scans/);
  });

  it('says nothing for a base it did not measure', () => {
    expect(methodEvidence(evidence, 'unetr', ['lorapt'])).toBeNull();
    expect(methodEvidence(evidence, undefined, ['lorapt'])).toBeNull();
  });

  it('the shipped figures cover both architectures’ default methods', () => {
    expect(methodEvidence(FEWSHOT_EVIDENCE, 'unetr', ['lorapt'])?.rows).toHaveLength(1);
    expect(methodEvidence(FEWSHOT_EVIDENCE, 'swinunetr', ['hyps'])?.rows).toHaveLength(1);
  });
});
