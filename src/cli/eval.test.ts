/**
 * `seahorse eval` does what issue #5 asks of it: per case and as means, Dice per label and for
 * the whole hippocampus (label > 0), HD95 in mm and volumes, printed and written as JSON; run
 * here with a shipped model id and a split file, as the manifests' numbers are produced.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { writeNifti } from '../core/io/nifti-write';
import { labelCentroidMm } from '../core/measure';
import { cropWorld } from '../core/perturb';
import type { LabelInfo } from '../core/labels';
import { mat4, type Dims3, type Volume } from '../core/volume';
import { dataDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { referenceLabels, runEval, scoreCase } from './eval';

const labels: LabelInfo[] = [
  { value: 0, name: 'background', rgb: [0, 0, 0] },
  { value: 1, name: 'head', rgb: [230, 159, 0] },
  { value: 2, name: 'body', rgb: [86, 180, 233] },
];

describe('scoreCase', () => {
  // 1 × 1 × 2 mm voxels, so a voxel is 2 mm³ and a step along k is 2 mm.
  const dims: Dims3 = [12, 12, 12];
  const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
  const at = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);
  const volume = (voxels: [number, number, number, number][]): Uint8Array => {
    const data = new Uint8Array(12 ** 3);
    for (const [i, j, k, value] of voxels) data[at(i, j, k)] = value;
    return data;
  };

  it('scores each label and the whole structure: Dice, HD95 in mm, volumes in mm³', () => {
    const reference: Volume<Uint8Array> = { dims, spacing: [1, 1, 2], affine, data: volume([[3, 3, 3, 1], [8, 8, 3, 2]]) };
    // Label 1 is two voxels off along k (4 mm); label 2 is exact.
    const predicted = volume([[3, 3, 5, 1], [8, 8, 3, 2]]);
    expect(scoreCase(predicted, reference, labels)).toEqual([
      { label: 1, name: 'head', dice: 0, hd95: 4, mm3Predicted: 2, mm3Reference: 2 },
      { label: 2, name: 'body', dice: 1, hd95: 0, mm3Predicted: 2, mm3Reference: 2 },
      // Whole: surface distances {0, 4} each way; their 95th percentile interpolates to 3.8.
      { label: 'all', name: 'whole (label > 0)', dice: 0.5, hd95: expect.closeTo(3.8, 12), mm3Predicted: 4, mm3Reference: 4 },
    ]);
  });

  it('marks an empty reference (Dice NaN) and a missed structure (HD95 infinite)', () => {
    const reference: Volume<Uint8Array> = { dims, spacing: [1, 1, 2], affine, data: volume([[3, 3, 3, 1]]) };
    const [head, body] = scoreCase(volume([[8, 8, 8, 2]]), reference, labels);
    expect(head).toMatchObject({ dice: 0, hd95: Infinity, mm3Predicted: 0, mm3Reference: 2 });
    expect(body).toMatchObject({ dice: NaN, hd95: Infinity, mm3Predicted: 2, mm3Reference: 0 });
  });
});

describe.skipIf(!hasShared)(`seahorse eval with a shipped model ${hasShared ? '' : sharedMissing}`, () => {
  it('prints and writes per-case and mean Dice, HD95 and volumes per label and for the whole', { timeout: 600_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-eval-'));
    // Two val cases that need few windows (1 and 2 of 32 × 64 × 32): the same code path as all 40.
    const cases = ['hippocampus_226.nii.gz', 'hippocampus_160.nii.gz'];
    const split = join(work, 'split.json');
    writeFileSync(split, JSON.stringify({ subset: cases }));
    const json = join(work, 'eval.json');
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(`stderr: ${t}`) };
    await runEval(['--model', 'swinunetr', '--data', msdDir, '--split', split, '--set', 'subset', '--json', json], io);
    const printed = lines.join('\n');
    expect(printed).not.toMatch(/stderr:/);

    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.model).toMatchObject({ id: 'swinunetr', status: 'trained', caveat: null });
    expect(result.split).toEqual({ file: split, set: 'subset' });
    expect(result.cases.map((c: { case: string }) => c.case)).toEqual(cases);
    const names = ['hippocampus head', 'hippocampus body + tail', 'whole (label > 0)'];

    const table = printed.split('\n');
    const header = table.find((l) => l.startsWith('case'))!.trim().split(/\s{2,}/);
    expect(header).toEqual(['case', 'Dice 1', 'Dice 2', 'Dice all', 'HD95 1', 'HD95 2', 'HD95 all', 'mm³ 1', 'mm³ 2', 'mm³ all']);
    const rowOf = (first: string) => table.find((l) => l.startsWith(first))!.trim().split(/\s{2,}/);

    for (const c of result.cases) {
      expect(c.scores.map((s: { name: string }) => s.name)).toEqual(names);
      expect(c.scores.map((s: { label: unknown }) => s.label)).toEqual([1, 2, 'all']);
      // Reference volumes counted here from the label file (1 mm³ voxels).
      const reference = readVolume(new Uint8Array(readFileSync(join(msdDir, 'labels', c.case))), c.case);
      const counts = [0, 0, 0];
      for (const v of reference.data) counts[v]++;
      expect(c.scores.map((s: { mm3Reference: number }) => s.mm3Reference)).toEqual([counts[1], counts[2], counts[1] + counts[2]]);
      for (const s of c.scores) {
        expect(s.dice).toBeGreaterThan(0.5); // a trained model: a real segmentation of each part
        expect(s.hd95).toBeGreaterThan(0);
        expect(s.hd95).toBeLessThan(20);
      }
      // The printed row holds the same numbers as the JSON.
      const row = rowOf(c.case);
      expect(row.slice(1)).toEqual([
        ...c.scores.map((s: { dice: number }) => s.dice.toFixed(3)),
        ...c.scores.map((s: { hd95: number }) => s.hd95.toFixed(2)),
        ...c.scores.map((s: { mm3Predicted: number; mm3Reference: number }) => `${s.mm3Predicted.toFixed(0)}/${s.mm3Reference.toFixed(0)}`),
      ]);
    }

    // Means over the cases, for each structure and each number, also printed.
    expect(result.mean.map((m: { name: string }) => m.name)).toEqual(names);
    const meanRow = rowOf('mean of 2');
    result.mean.forEach((m: Record<'dice' | 'hd95' | 'mm3Predicted' | 'mm3Reference', { mean: number; n: number }>, s: number) => {
      for (const key of ['dice', 'hd95', 'mm3Predicted', 'mm3Reference'] as const) {
        const values = result.cases.map((c: { scores: Record<string, number>[] }) => c.scores[s][key]);
        expect(m[key].n).toBe(2);
        expect(m[key].mean).toBeCloseTo((values[0] + values[1]) / 2, 10);
      }
      expect(meanRow[1 + s]).toBe(m.dice.mean.toFixed(3));
      expect(meanRow[4 + s]).toBe(m.hd95.mean.toFixed(2));
      expect(meanRow[7 + s]).toBe(`${m.mm3Predicted.mean.toFixed(0)}/${m.mm3Reference.mean.toFixed(0)}`);
    });
  });
});

describe('referenceLabels', () => {
  const dims: Dims3 = [4, 1, 1];
  const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const ref = (data: number[]): Volume => ({ dims, spacing: [1, 1, 1], affine, data: Int32Array.from(data) });

  it('reads an aseg under the FreeSurfer protocol as 17 → 1 left, 53 → 2 right, the rest 0', () => {
    expect([...referenceLabels(ref([17, 53, 2035, 0]), 'freesurfer').data]).toEqual([1, 2, 0, 0]);
  });

  it('keeps labels already in the pipeline’s codes, and any 0–255 labels without a protocol', () => {
    expect([...referenceLabels(ref([1, 2, 0, 2]), 'freesurfer').data]).toEqual([1, 2, 0, 2]);
    expect([...referenceLabels(ref([17, 53, 0, 1]), null).data]).toEqual([17, 53, 0, 1]);
  });

  it('refuses what it cannot read: no hippocampus code, codes over 255 without the protocol, non-integers', () => {
    expect(() => referenceLabels(ref([3, 4, 0, 0]), 'freesurfer')).toThrow(/neither hippocampus \(17, 53\)/);
    expect(() => referenceLabels(ref([2035, 0, 0, 0]), 'msd')).toThrow(/exceed 255 .*--protocol freesurfer/);
    expect(() => referenceLabels({ ...ref([0, 0, 0, 0]), data: Float32Array.from([0, 0.5, 0, 0]) }, null)).toThrow(/voxel 1 is 0.5/);
  });
});

describe.skipIf(!hasShared)(`seahorse eval --protocol freesurfer on a full head ${hasShared ? '' : sharedMissing}`, () => {
  it('segments full heads as segment does, scores them against the aseg (17/53) and reports every warning', { timeout: 600_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-eval-fs-'));
    mkdirSync(join(work, 'images'));
    mkdirSync(join(work, 'labels'));
    const bert = join(dataDir, 'fullhead_labelled', 'bert');
    symlinkSync(join(bert, 'norm.mgz'), join(work, 'images', 'bert.mgz'));
    symlinkSync(join(bert, 'aseg.mgz'), join(work, 'labels', 'bert.mgz'));
    // bert with the field of view ending 15 mm above the hippocampi: segmented with warnings
    // (placed by the localiser: src/infer/registration-rescue.test.ts), which eval must pass on.
    const read = (f: string) => readVolume(new Uint8Array(readFileSync(join(bert, f))), f);
    const aseg = read('aseg.mgz');
    const top = (labelCentroidMm(aseg, 17)![2] + labelCentroidMm(aseg, 53)![2]) / 2 + 15;
    writeFileSync(join(work, 'images', 'bert-tight.nii'), writeNifti(cropWorld(read('norm.mgz'), 2, -Infinity, top)));
    writeFileSync(join(work, 'labels', 'bert-tight.nii'), writeNifti(cropWorld(aseg, 2, -Infinity, top)));
    const json = join(work, 'eval.json');
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(`stderr: ${t}`) };
    await runEval(['--protocol', 'freesurfer', '--data', work, '--json', json], io);
    const printed = lines.join('\n');
    expect(printed).toMatch(/^Model swinunetr-fs \(trained, freesurfer protocol\)/);
    expect(printed).toMatch(/Labels: 1 = left hippocampus, 2 = right hippocampus; all = label > 0/);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.model).toMatchObject({ id: 'swinunetr-fs', protocol: 'freesurfer' });
    const byName = (name: string) => result.cases.find((c: { case: string }) => c.case === name);
    const [left, right] = byName('bert.mgz').scores;
    // bench fs-real measured 0.855 / 0.848 through the same pipeline on this scan.
    expect(left).toMatchObject({ label: 1, name: 'left hippocampus' });
    expect(right).toMatchObject({ label: 2, name: 'right hippocampus' });
    expect(left.dice).toBeGreaterThan(0.83);
    expect(right.dice).toBeGreaterThan(0.83);
    // The aseg's own volumes (1 mm³ voxels): 4,508 / 4,634 mm³.
    expect([left.mm3Reference, right.mm3Reference]).toEqual([4508, 4634]);
    // Warnings: none on the intact scan; the cut one's, each printed with its case and written.
    expect(byName('bert.mgz').warnings).toEqual([]);
    const tight = byName('bert-tight.nii');
    expect(tight.scores).toHaveLength(3);
    expect(tight.warnings.length).toBeGreaterThan(0);
    const block = printed.slice(printed.indexOf('\nWarnings:\n'));
    for (const w of tight.warnings) expect(block).toContain(`  bert-tight.nii: ${w}`);
    expect(block).not.toContain('bert.mgz:');

    // A model of the other protocol is refused before any scan is read.
    await expect(runEval(['--model', 'swinunetr', '--protocol', 'freesurfer', '--data', work], io)).rejects.toThrow(/swinunetr follows the msd protocol, not freesurfer/);
  });
});
