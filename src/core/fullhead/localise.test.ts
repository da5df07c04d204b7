import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, invert, multiply, type Vec3 } from '../affine';
import { readVolume } from '../io';
import { resampleLinear } from '../resample';
import { meanDisplacementMm, randomAffine, seededRandom } from '../registration/testing';
import { dataDir, hasShared, sharedMissing } from '../../testing/shared';
import type { Volume } from '../volume';
import { mat4 } from '../volume';
import { rotationAbout, turnHead } from '../perturb';
import { classifyScan } from './detect';
import { registrationRotation, rotationAngleDeg } from './head-pose';
import type { PreparedTemplate } from './localise';
import type { Localisation } from './localise';
import { BRAIN_NCC_FAILED, BRAIN_NCC_POOR, LocalisationError, NCC_FAILED, NCC_POOR, RESCUE_START_TURNS_DEG, assertLocalised, betterLocalisation, localise, prepareTemplate } from './localise';
import { readTemplate } from './template-node';
import { mapVoxels } from '../../testing/voxels';

/** Registration of real scans is seconds per case on 2 busy cores. */
const SLOW = 300_000;
const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

describe.skipIf(!hasShared)(`full-head localisation ${hasShared ? '' : sharedMissing}`, () => {
  let prepared: PreparedTemplate;
  let sample: Volume;
  beforeAll(() => {
    prepared = prepareTemplate(readTemplate());
    sample = read(join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz'));
  }, SLOW);

  /** Template-brain voxel centres (fraction ≥ ½), world mm: where displacement is measured. */
  function brainPoints(): Float64Array {
    const { brain } = prepared.template;
    const pts: number[] = [];
    const [nx, ny, nz] = brain.dims;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) if (brain.data[i + nx * (j + ny * k)] >= 128) pts.push(...applyToPoint(brain.affine, [i, j, k]));
      }
    }
    return Float64Array.from(pts);
  }

  for (const seed of [1, 2, 3]) {
    it(`recovers a random affine applied to ch2 within 1 mm mean displacement over the brain (seed ${seed})`, () => {
      const ch2 = read(join(dataDir, 'templates', 'ch2.nii.gz'));
      const truth = randomAffine(seededRandom(seed));
      // ch2 moved by `truth`, on an LIA grid of 1.1 mm voxels that holds the whole head.
      const grid = mat4([-1.1, 0, 0, 125, 0, 0, 1.1, -160, 0, -1.1, 0, 135, 0, 0, 0, 1]);
      const moved = resampleLinear(ch2, [228, 240, 260], multiply(invert(truth), grid));
      const scan: Volume = { ...moved, affine: grid };
      const loc = assertLocalised(localise(scan, prepared));
      expect(meanDisplacementMm(loc.transform, truth, brainPoints())).toBeLessThan(1);
      expect(loc.quality).toBe('good');
    }, SLOW);
  }

  it('localises both hippocampi of the full-head sample (LIA, 256³), one per hemisphere', () => {
    expect(classifyScan(sample).kind).toBe('full-head');
    const loc = assertLocalised(localise(sample, prepared));
    expect(loc.quality).toBe('good');
    expect(loc.ncc).toBeGreaterThan(NCC_POOR);
    expect(loc.brainNcc).toBeGreaterThan(BRAIN_NCC_POOR);
    const [left, right] = loc.hippocampi;
    // World x is R+: the left hippocampus lies left of the midline, the right one right of it,
    // both below the AC–PC plane and behind the anterior commissure.
    expect(left.centreMm[0]).toBeLessThan(-15);
    expect(right.centreMm[0]).toBeGreaterThan(15);
    for (const box of loc.hippocampi) {
      expect(box.inView).toBe(1);
      // A hippocampus is ≈ 45 mm long (A–P); the box holds it with its margins.
      expect(box.grid.dims[1]).toBeGreaterThan(45);
      expect(box.grid.dims[1]).toBeLessThan(80);
    }
    // Adult intracranial volume: 1.1–2.0 L.
    expect(loc.icvMm3).toBeGreaterThan(1.1e6);
    expect(loc.icvMm3).toBeLessThan(2.0e6);
  }, SLOW);

  it('finds a head pitched 45° in the scanner, which the header’s orientation alone leaves half-way and calls good', () => {
    const ch2 = read(join(dataDir, 'templates', 'ch2.nii.gz'));
    // Nose up 45° about the left–right axis through AAL's hippocampi, the voxels as they were.
    const pitched = turnHead(ch2, rotationAbout(0, 45, [0, -20, -10]));
    const angle = (loc: Localisation) => rotationAngleDeg(registrationRotation(loc.transform)!);
    const searched = assertLocalised(localise(pitched, prepared));
    expect(searched.quality).toBe('good');
    expect(angle(searched)).toBeGreaterThan(42);
    expect(angle(searched)).toBeLessThan(48);
    // ch2 is the template's own head: its intracranial volume is the template brain's.
    expect(Math.abs(searched.icvMm3 / prepared.brainMm3 - 1)).toBeLessThan(0.05);
    // From the header's orientation alone: stopped half-way, with a volume far too small, yet not failed.
    const headerOnly = localise(pitched, prepared, { startPitchesDeg: [] });
    expect(angle(headerOnly)).toBeLessThan(30);
    expect(headerOnly.icvMm3 / prepared.brainMm3).toBeLessThan(0.85);
    expect(headerOnly.quality).not.toBe('failed');
  }, SLOW);

  it('finds a head turned 45° to one side from the rescue’s roll and turn starts, which the header and the pitches alone miss', () => {
    const ch2 = read(join(dataDir, 'templates', 'ch2.nii.gz'));
    // The face turned 45° about the superior–inferior axis through AAL's hippocampi, as perturb-cases' "head turned 45°".
    const turned = turnHead(ch2, rotationAbout(2, 45, [0, -20, -10]));
    const angle = (loc: Localisation) => rotationAngleDeg(registrationRotation(loc.transform)!);
    const pitchesOnly = localise(turned, prepared);
    expect(pitchesOnly.quality).not.toBe('good');
    const searched = assertLocalised(localise(turned, prepared, { startTurnsDeg: RESCUE_START_TURNS_DEG }));
    expect(searched.quality).toBe('good');
    expect(angle(searched)).toBeGreaterThan(42);
    expect(angle(searched)).toBeLessThan(48);
    expect(Math.abs(searched.icvMm3 / prepared.brainMm3 - 1)).toBeLessThan(0.05);
  }, SLOW);

  it('finds a head turned 45° and pitched 45° from a start along the hippocampi a localiser found, which the rescue’s other starts miss', () => {
    const ch2 = read(join(dataDir, 'templates', 'ch2.nii.gz'));
    const centre: Vec3 = [0, -20, -10];
    const pose = multiply(rotationAbout(0, 45, centre), rotationAbout(2, 45, centre));
    const turned = turnHead(ch2, pose);
    // What a localiser finds on this head: the template's brain centre and hippocampi, turned with it.
    const origin = applyToPoint(pose, [0, 0, 0]);
    const leftRightMm = applyToPoint(pose, prepared.hippocampusAxisMm).map((v, a) => v - origin[a]) as unknown as Vec3;
    const centreMm = applyToPoint(pose, prepared.brainCentre) as unknown as Vec3;
    const angle = (loc: Localisation) => rotationAngleDeg(registrationRotation(loc.transform)!);
    const rescueStarts = localise(turned, prepared, { brain: { centreMm }, startTurnsDeg: RESCUE_START_TURNS_DEG });
    expect(rescueStarts.quality).toBe('failed');
    const aligned = assertLocalised(localise(turned, prepared, { brain: { centreMm, leftRightMm }, startTurnsDeg: RESCUE_START_TURNS_DEG }));
    expect(aligned.quality).toBe('good');
    const truth = rotationAngleDeg(registrationRotation(pose)!);
    expect(Math.abs(angle(aligned) - truth)).toBeLessThan(1);
    expect(Math.abs(aligned.icvMm3 / prepared.brainMm3 - 1)).toBeLessThan(0.05);
  }, SLOW);

  it('boxes ch2 around AAL’s own hippocampi (ch2 registered to its own template)', () => {
    const ch2 = read(join(dataDir, 'templates', 'ch2.nii.gz'));
    const aal = read(join(dataDir, 'templates', 'aal.nii.gz'));
    const loc = assertLocalised(localise(ch2, prepared));
    expect(loc.ncc).toBeGreaterThan(0.95);
    for (const [box, aalLabel] of [[loc.hippocampi[0], 37], [loc.hippocampi[1], 38]] as const) {
      const toBox = multiply(invert(box.grid.affine), aal.affine);
      const [nx, ny, nz] = aal.dims;
      let total = 0;
      let inside = 0;
      for (let k = 0; k < nz; k++) {
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            if (aal.data[i + nx * (j + ny * k)] !== aalLabel) continue;
            total++;
            const p = applyToPoint(toBox, [i, j, k]);
            if (p.every((v, a) => v >= -0.5 && v <= box.grid.dims[a] - 0.5)) inside++;
          }
        }
      }
      expect(inside / total, box.side).toBe(1);
    }
  }, SLOW);

  it('says so when the image is not a brain (noise, a textured sphere)', () => {
    let state = 1;
    const noise = mapVoxels(Uint8Array, sample.data, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state >>> 24;
    });
    const [nx, ny, nz] = sample.dims;
    const sphere = new Uint8Array(sample.data.length);
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          if (Math.hypot(i - nx / 2, j - ny / 2, k - nz / 2) < 80) sphere[i + nx * (j + ny * k)] = 100 + 50 * Math.sin(i / 7) * Math.cos(j / 5);
        }
      }
    }
    for (const data of [noise, sphere]) {
      const loc = localise({ ...sample, data }, prepared);
      expect(loc.quality).toBe('failed');
      expect(loc.brainNcc).toBeLessThan(BRAIN_NCC_FAILED);
      expect(loc.problems.map((p) => p.kind)).toContain('registration-failed');
      expect(() => assertLocalised(loc)).toThrow(/could not be matched to the brain template/);
      // The error carries the failed localisation: the studio draws its outline from it.
      const thrown = (() => {
        try {
          assertLocalised(loc);
        } catch (error) {
          return error;
        }
      })();
      expect(thrown).toBeInstanceOf(LocalisationError);
      expect((thrown as LocalisationError).localisation).toBe(loc);
    }
  }, SLOW);

  it('says so when the hippocampi are outside the field of view', () => {
    // Keep only the top of the head: world z above +5 mm (the hippocampi lie near −15 mm).
    const [nx, ny, nz] = sample.dims;
    // LIA: voxel j runs inferior; z = 134.48 − j, so z > 5 is j < 129.
    const keep = 129;
    const data = new Uint8Array(nx * keep * nz);
    for (let k = 0; k < nz; k++) for (let j = 0; j < keep; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + keep * k)] = sample.data[i + nx * (j + ny * k)];
    const top: Volume = { dims: [nx, keep, nz], affine: sample.affine, spacing: sample.spacing, data };
    expect(classifyScan(top).kind).toBe('full-head');
    const loc = localise(top, prepared);
    const kinds = loc.problems.map((p) => p.kind);
    expect(kinds).toContain('hippocampus-out-of-view');
    expect(() => assertLocalised(loc)).toThrow(/hippocampus is (not|only partly) in the field of view/);
  }, SLOW);

  it('keeps the thresholds ordered', () => {
    expect(NCC_FAILED).toBeLessThan(NCC_POOR);
    expect(BRAIN_NCC_FAILED).toBeLessThan(BRAIN_NCC_POOR);
  });
});

describe('betterLocalisation', () => {
  // Only quality and brainNcc decide; the rest of a Localisation does not matter here.
  const loc = (quality: Localisation['quality'], brainNcc: number) => ({ quality, brainNcc }) as Localisation;

  it('prefers the better quality, whatever the similarities', () => {
    expect(betterLocalisation(loc('failed', 0.29), loc('poor', 0.2)).quality).toBe('poor');
    expect(betterLocalisation(loc('good', 0.41), loc('poor', 0.39)).quality).toBe('good');
    expect(betterLocalisation(loc('poor', 0.35), loc('good', 0.45)).quality).toBe('good');
  });

  it('breaks a tie of quality by the similarity inside the brain, keeping the first on equality', () => {
    const first = loc('poor', 0.35);
    expect(betterLocalisation(first, loc('poor', 0.38)).brainNcc).toBe(0.38);
    expect(betterLocalisation(first, loc('poor', 0.31))).toBe(first);
    expect(betterLocalisation(first, loc('poor', 0.35))).toBe(first);
  });
});
