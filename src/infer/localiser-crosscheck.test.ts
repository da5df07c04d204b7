/**
 * The learned localiser as the template registration's cross-check (issue 13, item 3: "whether
 * the localiser and the registration agree") on real scans it never saw: with the registration
 * as it is, no cross-check warning; with the registration's expectation moved 20 mm (a
 * registration that put the hippocampus on a neighbouring structure), a warning for that side
 * and only that side. Both ways can fail: a localiser that wanders off on real scans warns on
 * the first, one that sits on the registration's answer whatever it is (or a threshold too
 * wide) stays silent on the second. Registration and localiser are the real ones
 * (onnxruntime-node on models/localiser.onnx); the mask evidence is held at the registration's
 * centre so that only the cross-check speaks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../core/affine';
import { localise, prepareTemplate, type PreparedTemplate } from '../core/fullhead';
import { checkMasks, CROSSCHECK_WARN_MM, type SideEvidence } from '../core/fullhead/qc';
import { readTemplate } from '../core/fullhead/template-node';
import { readVolume } from '../core/io';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { registrationCentre } from './fullhead';
import { localiseHippocampi, LOCALISER_ID } from './localiser';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';

const SLOW = 180_000;
/** How far the deliberately wrong registration is moved, mm. */
const WRONG_BY_MM = 20;
const installed = listInstalledModels(undefined, 'localisation').find((m) => m.manifest.id === LOCALISER_ID);
const skip = !hasShared ? sharedMissing : !installed ? '(skipped: models/localiser.json is not installed)' : '';
const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);
const fh = join(dataDir, 'fullhead_labelled');
/** Two real skull-stripped subjects of different origin (bench/localiser.ts measures all six scans at hand). */
const SCANS = [
  ['bert norm.mgz', join(fh, 'bert', 'norm.mgz')],
  ['vxm_subject', join(fh, 'vxm_subject', 't1.nii.gz')],
] as const;

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a: Vec3, k: number): Vec3 => [a[0] * k, a[1] * k, a[2] * k];
const norm = (a: Vec3) => Math.hypot(a[0], a[1], a[2]);

describe.skipIf(skip !== '')(`the localiser cross-checks the registration on real scans ${skip}`, () => {
  let prepared: PreparedTemplate;
  let model: LoadedNodeModel;
  beforeAll(async () => {
    prepared = prepareTemplate(readTemplate());
    model = await loadModelNode(LOCALISER_ID, { threads: 2 });
  }, SLOW);
  afterAll(() => model?.backend.dispose());

  it('is installed as a cross-check, not to place the crops', () => {
    expect(installed!.manifest.localiserRole ?? 'cross-check').toBe('cross-check');
  });

  it.each(SCANS)('%s: agrees with the registration; a registration 20 mm off, in any direction, is warned about', async (_name, path) => {
    const scan = read(path);
    const found = await localiseHippocampi(scan, model);
    expect(found.problems).toEqual([]);
    const loc = localise(scan, prepared);
    expect(loc.quality).not.toBe('failed');
    const expected = [registrationCentre(loc.hippocampi[0]), registrationCentre(loc.hippocampi[1])] as const;
    const sides = (['left', 'right'] as const).map((side, s) => ({ side, localiser: found[side].centroidMm!, registration: expected[s] }));
    const crossCheckFindings = (moved: 'left' | 'right' | null, by: Vec3) => {
      const evidence = sides.map(({ side, localiser, registration }): SideEvidence => {
        const where = side === moved ? add(registration, by) : registration;
        return { side, mm3: 4000, connectedFraction: 1, centroidMm: where, crossCheck: { centroidMm: localiser }, registration: { centroidMm: where, quality: loc.quality } };
      }) as [SideEvidence, SideEvidence];
      return checkMasks(evidence, 'freesurfer').findings.filter((f) => f.check === 'cross-check');
    };

    expect(crossCheckFindings(null, [0, 0, 0])).toEqual([]);
    for (const { side, localiser, registration } of sides) {
      // The six axis directions, and the hardest one: straight towards the localiser's answer.
      const towards = add(localiser, scale(registration, -1));
      const directions: Vec3[] = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], scale(towards, 1 / norm(towards))];
      for (const d of directions) {
        const findings = crossCheckFindings(side, scale(d, WRONG_BY_MM));
        expect(findings.map((f) => f.side), `${side} moved ${WRONG_BY_MM} mm along ${d.map((v) => v.toFixed(2))}`).toEqual([side]);
        expect(findings[0]).toMatchObject({ level: 'warning', limit: CROSSCHECK_WARN_MM });
        expect(findings[0].message).toMatch(new RegExp(`learned localiser puts the ${side} hippocampus \\d+ mm from where the template registration put it`));
      }
    }
  }, SLOW);
});
