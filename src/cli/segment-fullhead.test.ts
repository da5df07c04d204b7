import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { readVolume, writeNifti } from '../core/io';
import { SIDE_LABELS } from '../infer/fullhead';
import { loadModelNode } from '../infer/registry-node';
import { segmentScan } from '../infer/segment-scan';
import { runCli as cli } from '../testing/cli';
import { directionalModel } from '../testing/onnx-models';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { mapVoxels } from '../testing/voxels';

/** Each full-head run registers a 256³ scan and segments two boxes on 2 busy cores. */
const SLOW = 600_000;


const readNii = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

describe.skipIf(!hasShared)(`seahorse segment on a full head ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-fullhead-'));
  const sample = join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz');
  const model = join(work, 'directional.onnx');
  beforeAll(() => writeFileSync(model, directionalModel([64, 80, 64])));

  it('--json: full-head path, registration, ICV fractions, boxes; the mask equals segmentScan’s', async () => {
    const out = join(work, 'labels.nii.gz');
    const run = await cli(['segment', sample, '-o', out, '--model', model, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.path).toBe('full-head');
    expect(report.fieldOfView).toMatchObject({ kind: 'full-head', extentMm: [256, 256, 256] });
    expect(report.caveat).toMatch(/User-supplied model/);
    expect(report.labels).toEqual(SIDE_LABELS);
    const { registration, icvMm3, hippocampi, boxes, frames } = report.fullHead;
    expect(registration.quality).toBe('good');
    expect(registration.transform).toHaveLength(16);
    // The sample's head lies within the crop models' training range: its crops are not turned.
    expect(registration.cropsTurnedDeg).toBe(0);
    expect(icvMm3).toBeGreaterThan(1e6);
    expect(boxes.map((b: { side: string; orientation: string }) => [b.side, b.orientation])).toEqual([
      ['left', 'RAS'],
      ['right', 'LAS'],
    ]);
    // The directional model labels the crops' faces: each side was segmented again in the wider crop.
    expect(frames.map((b: { side: string; orientation: string; dims: number[]; widened: boolean }) => [b.side, b.orientation, b.dims, b.widened])).toEqual([
      ['left', 'RAS', [40, 56, 40], true],
      ['right', 'LAS', [40, 56, 40], true],
    ]);
    expect(hippocampi.map((h: { side: string }) => h.side)).toEqual(['left', 'right']);
    // The directional model labels most of each crop, faces included: the CLI passes the edge warnings on.
    expect(report.warnings.slice(0, 2)).toEqual([expect.stringMatching(/^The left hippocampus mask reaches the edge/), expect.stringMatching(/^The right hippocampus mask reaches the edge/)]);
    // The quality checks' findings come with it (a user model's masks are warned about, not refused).
    expect(report.fullHead.qc.verdict).toBe('refused');
    expect(report.warnings.at(-1)).toMatch(/follows no protocol Seahorse knows/);
    // The whole wait by stage. Run from the bundle, the template is prepared and the localiser
    // opened on worker threads meanwhile: their own times are listed too. The installed
    // localiser cross-checks beside the registration; the masks wait only for its last part.
    const t = report.timingsMs;
    const threads = ['template, on a worker thread', 'localiser load, on a worker thread'];
    const crossChecked = 'localiser load' in t;
    const stages = Object.keys(t).filter((s) => !threads.includes(s) && !s.startsWith('localiser'));
    expect(stages).toEqual([
      'read',
      'model load',
      'template',
      'localise',
      'crop',
      'segment left',
      'segment right',
      'paste',
      ...(crossChecked ? ['cross-check wait'] : []),
      'pipeline, scan in memory to masks',
      'total, read to masks',
    ]);
    for (const thread of threads) if (thread in t) expect(t[thread]).toBeGreaterThan(0);
    if (crossChecked) {
      expect(t['localiser, beside the rest']).toBeGreaterThan(0);
      expect(report.fullHead.crossCheck).not.toBeNull();
      // From the bundle (as `npm ci` leaves it), the localiser runs on its own thread.
      if (threads[0] in t) expect(t['localiser load, on a worker thread']).toBeGreaterThan(0);
    }

    const labels = readNii(out);
    const scan = readNii(sample);
    expect(labels.dims).toEqual(scan.dims);
    expect(Array.from(labels.affine)).toEqual(Array.from(scan.affine));
    const counts = [0, 0, 0];
    for (const v of labels.data) counts[v]++;
    expect(report.volumes).toEqual([
      { value: 1, name: 'left hippocampus', voxels: counts[1], mm3: counts[1], icvFraction: counts[1] / icvMm3 },
      { value: 2, name: 'right hippocampus', voxels: counts[2], mm3: counts[2], icvFraction: counts[2] / icvMm3 },
    ]);

    const loaded = await loadModelNode(model);
    try {
      const inProcess = await segmentScan(scan, loaded, { template: () => prepareTemplate(readTemplate()) });
      expect(inProcess.path).toBe('full-head');
      // Byte comparison: a 256³ toEqual would enumerate 16.7 M keys.
      expect(labels.data.length).toBe(inProcess.labels.data.length);
      expect(Buffer.compare(labels.data as Uint8Array, inProcess.labels.data)).toBe(0);
    } finally {
      await loaded.backend.dispose();
    }
  }, SLOW);

  it('--sublabels on a poorly matching scan: the warning, four labels, a table with the share of the ICV, the untrained caveat', async () => {
    // The sample under heavy noise (σ ≈ 130), as in src/infer/fullhead.test.ts: registration "poor".
    const scan = readNii(sample);
    let state = 7;
    const uniform = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const noisy = join(work, 'noisy.nii');
    writeFileSync(noisy, writeNifti({ ...scan, data: mapVoxels(Float32Array, scan.data, (v) => v + 130 * 2 * (uniform() + uniform() + uniform() - 1.5)) }, { gzip: false }));
    const out = join(work, 'sub.nii.gz');
    const run = await cli(['segment', noisy, '-o', out, '--model', 'unetr-tiny-test', '--sublabels', '--full-head']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/UNTRAINED TEST MODEL/);
    expect(run.stdout).toMatch(/^Path {5}full head \(field of view 256 × 256 × 256 mm: a whole head\)$/m);
    expect(run.stdout).toMatch(/^Registration {2}poor: similarity 0\.\d\d overall, 0\.\d\d inside the brain; intracranial volume ≈ 1\.\d\d L$/m);
    expect(run.stdout).toMatch(/^Warning {2}The scan matches the brain template only weakly/m);
    expect(run.stdout).toMatch(/label +voxels +mm³ +% of ICV/);
    for (const name of ['left hippocampus head', 'left hippocampus body \\+ tail', 'right hippocampus head', 'right hippocampus body \\+ tail']) {
      expect(run.stdout).toMatch(new RegExp(`^${name} +\\d+ +\\d+\\.\\d +\\d+\\.\\d{3}$`, 'm'));
    }
    const values = new Set(readNii(out).data);
    for (const v of values) expect([0, 1, 2, 3, 4]).toContain(v);
  }, SLOW);

  it('refuses what it cannot segment, in one line, and writes nothing', async () => {
    const scan = readNii(sample);
    // Noise on the sample's grid: a full head by size, but no brain to register.
    let state = 1;
    const noise = join(work, 'noise.nii');
    writeFileSync(noise, writeNifti({ ...scan, data: mapVoxels(Uint8Array, scan.data, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state >>> 24)) }, { gzip: false }));
    const out = join(work, 'never.nii.gz');
    const failed = await cli(['segment', noise, '-o', out, '--model', model]);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toMatch(/^seahorse segment: The scan could not be matched to the brain template \(similarity -?0\.\d\d overall/);
    expect(existsSync(out)).toBe(false);

    // A 60 mm slab is neither a head nor a crop.
    const [nx, , nz] = scan.dims;
    const slab = join(work, 'slab.nii.gz');
    writeFileSync(slab, writeNifti({ ...scan, dims: [nx, 60, nz], data: new Uint8Array(nx * 60 * nz) }));
    const partial = await cli(['segment', slab, '-o', out, '--model', model]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/covers only part of the head .* Force the full-head or the crop path if you know which it is \(--full-head or --crop\)\.$/m);

    const subs = await cli(['segment', sample, '-o', out, '--model', model, '--sublabels']);
    expect(subs.status).toBe(1);
    expect(subs.stderr).toMatch(/head\/body sub-labels need a model whose label 1 is the hippocampus head/);

    const both = await cli(['segment', sample, '-o', out, '--full-head', '--crop']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/choose one of --full-head and --crop/);
    expect(existsSync(out)).toBe(false);
  }, SLOW);
});
