import { describe, expect, it } from 'vitest';
import { adaptationCautions } from './adaptation-caution';

const score = (dice: number) => ({ loss: 1 - dice, dice });

describe('adaptationCautions', () => {
  it('warns when the adapted model scores below its base on the validation scans', () => {
    const [caution, ...rest] = adaptationCautions(3, { cases: 2, before: score(0.853), after: score(0.837) }, 'cli');
    expect(rest).toEqual([]);
    expect(caution.level).toBe('warning');
    expect(caution.message).toMatch(/^The adapted model scores below its base on the 2 validation scans \(Dice 0\.853 → 0\.837\)/);
  });

  it('says nothing when validation held or gained, or could not be scored', () => {
    expect(adaptationCautions(3, { cases: 1, before: score(0.8), after: score(0.8) }, 'cli')).toEqual([]);
    expect(adaptationCautions(1, { cases: 1, before: score(0.8), after: score(0.81) }, 'studio')).toEqual([]);
    expect(adaptationCautions(3, { cases: 1, before: score(NaN), after: score(0.2) }, 'cli')).toEqual([]);
  });

  it('notes an unvalidated adapter, and what one scan did in the measured runs', () => {
    const [three] = adaptationCautions(3, null, 'cli');
    expect(three.level).toBe('note');
    expect(three.message).toMatch(/^Not validated: .*--val <dir>/);
    expect(three.message).not.toMatch(/one scan/);
    expect(adaptationCautions(3, null, 'studio')[0].message).toMatch(/mark a pair Val/);
    const [one] = adaptationCautions(1, undefined, 'studio');
    expect(one.message).toMatch(/Adapted from one scan, it can move other people’s Dice either way: from −10 to \+4 points/);
  });
});
