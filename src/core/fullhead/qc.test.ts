import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../affine';
import {
  AGREEMENT_WARN_MM,
  ASYMMETRY_WARN,
  checkMasks,
  CONFIDENCE_REFUSE,
  CONFIDENCE_WARN,
  CONNECTED_REFUSE,
  CONNECTED_WARN,
  CROSSCHECK_WARN_MM,
  DISTANCE_REFUSE_MM,
  DISTANCE_WARN_MM,
  MaskRefusedError,
  VOLUME_LIMITS,
  type QcCheck,
  type SideEvidence,
} from './qc';

const L: Vec3 = [-25, -20, -12];
const R: Vec3 = [26, -19, -12];
const shift = (p: Vec3, dx: number): Vec3 => [p[0] + dx, p[1], p[2]];

/** A healthy pair: 4,000 mm³ a side, one structure, where localiser and registration expect it. */
function healthy(): [SideEvidence, SideEvidence] {
  return [
    { side: 'left', mm3: 4000, connectedFraction: 1, centroidMm: L, localiser: { centroidMm: shift(L, 1), confidence: 0.9 }, registration: { centroidMm: shift(L, -2), quality: 'good' } },
    { side: 'right', mm3: 4100, connectedFraction: 0.995, centroidMm: R, localiser: { centroidMm: shift(R, 1), confidence: 0.9 }, registration: { centroidMm: shift(R, 2), quality: 'good' } },
  ];
}
const withLeft = (patch: Partial<SideEvidence>): [SideEvidence, SideEvidence] => {
  const [l, r] = healthy();
  return [{ ...l, ...patch }, r];
};
const found = (sides: readonly [SideEvidence, SideEvidence], protocol: 'msd' | 'freesurfer' = 'freesurfer') =>
  checkMasks(sides, protocol).findings.map((f) => `${f.check}:${f.level}`);
const only = (check: QcCheck, level: 'warning' | 'refusal') => [`${check}:${level}`];

describe('full-head mask QC', () => {
  it('a healthy pair passes every check, under both protocols', () => {
    expect(checkMasks(healthy(), 'freesurfer')).toEqual({ verdict: 'ok', findings: [] });
    expect(checkMasks(healthy(), 'msd')).toEqual({ verdict: 'ok', findings: [] });
  });

  it('volume: warned outside the typical range, refused outside the possible one, with the source in the sentence', () => {
    for (const protocol of ['freesurfer', 'msd'] as const) {
      const { warn, refuse } = VOLUME_LIMITS[protocol];
      // Both protocols' ranges apply to their own volumes only.
      expect(found(withLeft({ mm3: warn[0] + 1 }), protocol).filter((f) => f.startsWith('volume'))).toEqual([]);
      expect(found(withLeft({ mm3: warn[1] - 1 }), protocol).filter((f) => f.startsWith('volume'))).toEqual([]);
      expect(found(withLeft({ mm3: warn[0] - 1 }), protocol)).toContain('volume:warning');
      expect(found(withLeft({ mm3: warn[1] + 1 }), protocol)).toContain('volume:warning');
      expect(found(withLeft({ mm3: refuse[0] - 1 }), protocol)).toContain('volume:refusal');
      expect(found(withLeft({ mm3: refuse[1] + 1 }), protocol)).toContain('volume:refusal');
    }
    // The skull-stripped failures: 176–938 mm³ masks. Under FreeSurfer's protocol a
    // 938 mm³ mask is warned and a 176 mm³ one refused.
    const small = checkMasks(withLeft({ mm3: 176 }), 'freesurfer');
    expect(small.verdict).toBe('refused');
    expect(small.findings[0].message).toMatch(/far too small.*FreeSurfer aseg/);
    expect(checkMasks(withLeft({ mm3: 938 }), 'freesurfer').findings[0]).toMatchObject({ check: 'volume', level: 'warning' });
    // The protocols differ: 6,500 mm³ is an ordinary large aseg hippocampus but not an MSD one.
    expect(found(withLeft({ mm3: 6500 }), 'freesurfer').filter((f) => f.startsWith('volume'))).toEqual([]);
    expect(found(withLeft({ mm3: 6500 }), 'msd')).toContain('volume:warning');
  });

  it('an empty side is refused', () => {
    const report = checkMasks(withLeft({ mm3: 0, centroidMm: null }), 'freesurfer');
    expect(report.verdict).toBe('refused');
    expect(report.findings).toEqual([expect.objectContaining({ check: 'empty', side: 'left', level: 'refusal' })]);
  });

  it('asymmetry: a warning above the limit, nothing below, never a refusal', () => {
    // 4,000 vs 4,100 is 2.5 %; pick left volumes either side of the limit.
    const at = (a: number) => (4100 * (2 - a)) / (2 + a); // left volume with asymmetry a against 4,100
    expect(found(withLeft({ mm3: at(ASYMMETRY_WARN - 0.01) }))).toEqual([]);
    expect(found(withLeft({ mm3: at(ASYMMETRY_WARN + 0.01) }))).toEqual(only('asymmetry', 'warning'));
    expect(checkMasks(withLeft({ mm3: 2100 }), 'freesurfer').verdict).toBe('warning');
  });

  it('connectivity: scattered masks warned, fragments refused', () => {
    expect(found(withLeft({ connectedFraction: CONNECTED_WARN + 0.001 }))).toEqual([]);
    expect(found(withLeft({ connectedFraction: CONNECTED_WARN - 0.01 }))).toEqual(only('connectivity', 'warning'));
    expect(found(withLeft({ connectedFraction: CONNECTED_REFUSE - 0.01 }))).toEqual(only('connectivity', 'refusal'));
  });

  it('distance from the localiser and from the registration: warned, then refused', () => {
    const loc = (d: number) => ({ localiser: { centroidMm: shift(L, d), confidence: 0.9 }, registration: null });
    expect(found(withLeft(loc(DISTANCE_WARN_MM - 0.5)))).toEqual([]);
    expect(found(withLeft(loc(DISTANCE_WARN_MM + 0.5)))).toEqual(only('distance-localiser', 'warning'));
    expect(found(withLeft(loc(DISTANCE_REFUSE_MM + 0.5)))).toEqual(only('distance-localiser', 'refusal'));
    const reg = (d: number, quality: 'good' | 'poor' | 'failed' = 'good') => ({ localiser: null, registration: { centroidMm: shift(L, d), quality } });
    expect(found(withLeft(reg(DISTANCE_WARN_MM - 0.5)))).toEqual([]);
    expect(found(withLeft(reg(DISTANCE_WARN_MM + 0.5, 'poor')))).toEqual(only('distance-registration', 'warning'));
    expect(found(withLeft(reg(DISTANCE_REFUSE_MM + 0.5)))).toEqual(only('distance-registration', 'refusal'));
    // A failed registration expects nothing.
    expect(found(withLeft(reg(40, 'failed')))).toEqual([]);
  });

  it('localiser and registration disagreeing is a warning (the cross-check)', () => {
    // The mask sits between them, within the warning distance of both.
    const apart = (d: number) => ({ localiser: { centroidMm: shift(L, -d / 2), confidence: 0.9 }, registration: { centroidMm: shift(L, d / 2), quality: 'good' as const } });
    expect(found(withLeft(apart(AGREEMENT_WARN_MM - 0.5)))).toEqual([]);
    expect(found(withLeft(apart(AGREEMENT_WARN_MM + 0.5)))).toEqual(only('agreement', 'warning'));
    // Nothing to agree with in a failed registration (the localiser then placed the crops, and that is said once).
    const failed = { localiser: { centroidMm: shift(L, 1), confidence: 0.9 }, registration: { centroidMm: shift(L, 40), quality: 'failed' as const } };
    expect(found(withLeft(failed))).toEqual([]);
  });

  it('a cross-check localiser only checks the registration, at its own (wider) distance', () => {
    // No placement localiser; the mask sits on the registration's expectation.
    const crossed = (d: number, quality: 'good' | 'poor' | 'failed' = 'good') => ({
      localiser: null,
      crossCheck: { centroidMm: shift(L, d) },
      registration: { centroidMm: L, quality },
    });
    expect(found(withLeft(crossed(CROSSCHECK_WARN_MM - 0.5)))).toEqual([]);
    expect(found(withLeft(crossed(CROSSCHECK_WARN_MM + 0.5)))).toEqual(only('cross-check', 'warning'));
    expect(checkMasks(withLeft(crossed(CROSSCHECK_WARN_MM + 0.5)), 'freesurfer').findings[0].message).toMatch(
      new RegExp(`learned localiser puts the left hippocampus ${(CROSSCHECK_WARN_MM + 0.5).toFixed(0)} mm from`),
    );
    // Never a refusal, and nothing to compare with a failed registration.
    expect(found(withLeft(crossed(60)))).toEqual(only('cross-check', 'warning'));
    expect(found(withLeft(crossed(60, 'failed')))).toEqual([]);
  });

  it('the localiser’s confidence: weak is warned, none is refused (and its position is then not used)', () => {
    const conf = (c: number) => ({ localiser: { centroidMm: shift(L, 30), confidence: c }, registration: null });
    expect(found(withLeft({ localiser: { centroidMm: L, confidence: CONFIDENCE_WARN + 0.01 } }))).toEqual([]);
    expect(found(withLeft({ localiser: { centroidMm: L, confidence: CONFIDENCE_WARN - 0.01 } }))).toEqual(only('confidence', 'warning'));
    expect(found(withLeft(conf(CONFIDENCE_REFUSE - 0.01)))).toEqual(only('confidence', 'refusal'));
  });

  it('the refusal error carries every reason in its message', () => {
    const report = checkMasks([{ ...healthy()[0], mm3: 100 }, { ...healthy()[1], connectedFraction: 0.5 }], 'msd');
    const error = new MaskRefusedError(report);
    expect(error.message).toMatch(/^No masks: The left mask \(100 mm³\) is far too small.*The model's right mask is scattered/);
    expect(error.report.verdict).toBe('refused');
  });
});
