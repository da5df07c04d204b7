import { describe, expect, it } from 'vitest';
import type { FewshotEvidence } from '../../train/fewshot-evidence';
import { evidenceShift, methodEvidence } from './method-evidence';
import { SHIPPED_EVIDENCE } from './shipped-evidence';

const k3: FewshotEvidence = {
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

/** The same base measured from one scan, where the adapters alone did better. */
const k1: FewshotEvidence = {
  ...k3,
  k: 1,
  models: { swinunetr: { ...k3.models.swinunetr, methods: { hyps: { withDecoder: { dice: 0.81, seeds: 3 }, withoutDecoder: { dice: 0.838, seeds: 3 } } } } },
};
/** The protocol shift's slice at k = 3 for the same base: other figures, other held-out crops. */
const protocolK3: FewshotEvidence = {
  ...k3,
  domain: 'FreeSurfer protocol',
  models: { swinunetr: { ...k3.models.swinunetr, zeroShot: 0.499, heldOut: 8, methods: { decoder: { withDecoder: { dice: 0.539, seeds: 3 } } } } },
};
/** The reverse shift's slice at k = 1: the FreeSurfer-protocol base itself, adapted to MSD's outline. */
const reverseK1: FewshotEvidence = {
  ...k3,
  k: 1,
  domain: 'MSD Task04 as it is',
  models: { 'swinunetr-fs': { ...k3.models.swinunetr, zeroShot: 0.819, methods: { hyps: { withDecoder: { dice: 0.778, seeds: 1 }, withoutDecoder: { dice: 0.817, seeds: 1 } } } } },
};
const evidence = [k1, k3, protocolK3, reverseK1];

describe('methodEvidence', () => {
  it('one row per offered method the benchmark measured, in the offered order, with seeds', () => {
    const t = methodEvidence(evidence, 'swinunetr', ['full', 'decoder', 'lora', 'hyps'], 3)!;
    expect(t.zeroShot).toBe('0.832');
    expect(t.rows).toEqual([
      { method: 'decoder', label: 'Decoder only', withDecoder: '0.836 (2 seeds)', withoutDecoder: '–' },
      { method: 'hyps', label: 'HyPS', withDecoder: '0.836 (2 seeds)', withoutDecoder: '0.843 (1 seed)' },
    ]);
    expect(t.caption).toMatch(/SwinUNETR adapted from 3 labelled scans .* 80 steps, .* on 20 held-out scans/);
  });

  it('shows the slice nearest the user\'s training scans (ties to the fewer; none yet: k = 3)', () => {
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 1)).toMatchObject({ k: 1, rows: [{ withDecoder: '0.810 (3 seeds)', withoutDecoder: '0.838 (3 seeds)' }] });
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 1)!.caption).toMatch(/adapted from 1 labelled scan to/);
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 1)!.adaptedFrom).toBe('1 scan');
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 3)!.adaptedFrom).toBe('3 scans');
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 2)!.k).toBe(1);
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 12)!.k).toBe(3);
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 0)!.k).toBe(3);
    expect(methodEvidence([k1], 'swinunetr', ['hyps'], 0)!.k).toBe(1);
  });

  it('on a change of protocol shows the protocol shift\'s slice, and says what it measured', () => {
    expect(evidenceShift('msd', 'freesurfer')).toBe('protocol');
    expect(evidenceShift('msd', 'msd')).toBe('scanner');
    expect(evidenceShift('freesurfer', 'freesurfer')).toBe('scanner');
    expect(evidenceShift(undefined, 'freesurfer')).toBe('scanner');
    const t = methodEvidence(evidence, 'swinunetr', ['decoder', 'hyps'], 3, 'protocol')!;
    expect(t.zeroShot).toBe('0.499');
    expect(t.adaptedFrom).toBe("3 crops of FreeSurfer's outline");
    expect(t.rows).toEqual([{ method: 'decoder', label: 'Decoder only', withDecoder: '0.539 (3 seeds)', withoutDecoder: '–' }]);
    expect(t.caption).toMatch(/SwinUNETR adapted to FreeSurfer's outline \(aseg 17\/53\) from 3 labelled crops synthesised from SynthSeg label maps, 80 steps, whole-hippocampus Dice on 8 held-out crops/);
    // Only the protocol shift's slices count: from one scan there is none, so the nearest is k = 3.
    expect(methodEvidence(evidence, 'swinunetr', ['decoder'], 1, 'protocol')!.k).toBe(3);
    expect(methodEvidence(evidence, 'swinunetr', ['decoder'], 3, 'scanner')!.zeroShot).toBe('0.832');
  });

  it('on MSD labels for a FreeSurfer-protocol base shows the reverse shift, measured on that base itself', () => {
    expect(evidenceShift('freesurfer', 'msd')).toBe('reverse');
    const t = methodEvidence(evidence, 'swinunetr', ['decoder', 'hyps'], 3, 'reverse', 'swinunetr-fs')!;
    expect(t).toMatchObject({ k: 1, adaptedFrom: "1 crop of MSD's outline", zeroShot: '0.819' });
    expect(t.rows).toEqual([{ method: 'hyps', label: 'HyPS', withDecoder: '0.778 (1 seed)', withoutDecoder: '0.817 (1 seed)' }]);
    expect(t.caption).toMatch(/the FreeSurfer-protocol SwinUNETR adapted to MSD's outline \(head and body as one hippocampus\) from 1 labelled MSD crop, 80 steps, whole-hippocampus Dice on 20 held-out MSD crops/);
    // Another base's id, or none, finds nothing: the MSD-protocol base's figures do not stand in for it.
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 3, 'reverse', 'swinunetr')).toBeNull();
    expect(methodEvidence(evidence, 'swinunetr', ['hyps'], 3, 'reverse')).toBeNull();
  });

  it('says nothing for a base it did not measure', () => {
    expect(methodEvidence(evidence, 'unetr', ['lorapt'], 3)).toBeNull();
    expect(methodEvidence(evidence, undefined, ['lorapt'], 3)).toBeNull();
  });

  it('the shipped figures cover both architectures’ default methods at k = 1, 3 and 5, on all three shifts', () => {
    for (const scans of [1, 3, 5]) {
      expect(methodEvidence(SHIPPED_EVIDENCE, 'unetr', ['lorapt'], scans)).toMatchObject({ k: scans, rows: [{ method: 'lorapt' }] });
      expect(methodEvidence(SHIPPED_EVIDENCE, 'swinunetr', ['hyps'], scans)).toMatchObject({ k: scans, rows: [{ method: 'hyps' }] });
      expect(methodEvidence(SHIPPED_EVIDENCE, 'unetr', ['lorapt'], scans, 'protocol')).toMatchObject({ k: scans, rows: [{ method: 'lorapt' }] });
      expect(methodEvidence(SHIPPED_EVIDENCE, 'swinunetr', ['hyps'], scans, 'protocol')).toMatchObject({ k: scans, rows: [{ method: 'hyps' }] });
      expect(methodEvidence(SHIPPED_EVIDENCE, 'unetr', ['lorapt'], scans, 'reverse', 'unetr-fs')).toMatchObject({ k: scans, rows: [{ method: 'lorapt' }] });
      expect(methodEvidence(SHIPPED_EVIDENCE, 'swinunetr', ['hyps'], scans, 'reverse', 'swinunetr-fs')).toMatchObject({ k: scans, rows: [{ method: 'hyps' }] });
    }
  });
});
