/**
 * `seahorse finetune` and `seahorse segment --adapter` as a user runs them: a one-step LoRA-PT
 * run on two real MSD crops with the installed tiny UNETR (the wasm engine: every machine has
 * it), the adapter it writes applied by segment, and the refusals; then an epoch run with the
 * engine chosen automatically (wasm on a machine without a hardware GPU, as CI).
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { decodeAdapter } from '../peft/adapter-file';
import { runCli as cli } from '../testing/cli';
import { dataDir, hasShared, msdDir, sharedMissing } from '../testing/shared';

const SLOW = 15 * 60_000; // whole CLI runs (model load, t-SVD, a training step) on a busy 2-core machine


describe('seahorse finetune: command line', () => {
  it('--help, and bad command lines exit 2 with usage', async () => {
    const help = await cli(['finetune', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: seahorse finetune/);
    const noData = await cli(['finetune', '--model', 'unetr-tiny-test', '-o', 'x.seahorse-adapter']);
    expect(noData.status).toBe(2);
    expect(noData.stderr).toMatch(/--train <dir>/);
    const both = await cli(['finetune', '--model', 'm', '--train', '.', '-o', 'x', '--steps', '2', '--epochs', '1']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give --steps or --epochs, not both/);
    const badMethod = await cli(['finetune', '--model', 'm', '--data', '.', '-o', 'x', '--method', 'dora']);
    expect(badMethod.status).toBe(2);
    expect(badMethod.stderr).toMatch(/--method must be one of full, decoder, lora, pissa, lorapt, hyps/);
    const decoderBoth = await cli(['finetune', '--model', 'm', '--data', '.', '-o', 'x', '--decoder', '--no-decoder']);
    expect(decoderBoth.status).toBe(2);
    expect(decoderBoth.stderr).toMatch(/give --decoder or --no-decoder, not both/);
  });
});

describe.skipIf(!hasShared)(`seahorse finetune without --model ${hasShared ? '' : sharedMissing}`, () => {
  // The base is chosen (and said) before the engine opens, so an unknown engine stops each run there.
  const base = async (dir: string, ...extra: string[]) => {
    const run = await cli(['finetune', '--train', dir, ...extra, '-o', join(tmpdir(), 'never.seahorse-adapter'), '--engine', 'none']);
    expect(run.stderr).toMatch(/--engine must be/);
    return /^Base {5}(.*)$/m.exec(run.stderr)?.[1];
  };
  const bert = mkdtempSync(join(tmpdir(), 'seahorse-finetune-base-'));
  mkdirSync(join(bert, 'images'));
  mkdirSync(join(bert, 'labels'));
  symlinkSync(join(dataDir, 'fullhead_labelled/bert/norm.mgz'), join(bert, 'images/bert.mgz'));
  symlinkSync(join(dataDir, 'fullhead_labelled/bert/aseg.mgz'), join(bert, 'labels/bert.mgz'));
  const crops = ['--split', join(msdDir, 'split.json'), '--set', 'fewshot_pool'];

  it('takes the model segmentation uses on the scans, for the protocol of their labels', async () => {
    expect(await base(msdDir, ...crops)).toBe('swinunetr: the msd-protocol model, for labels of that protocol (--model picks another)');
    expect(await base(msdDir, ...crops, '--labels', 'binary')).toBe('swinunetr: the msd-protocol model, the one seahorse segment uses on crops (--model picks another)');
    expect(await base(msdDir, ...crops, '--labels', 'freesurfer')).toMatch(/^swinunetr-fs: the freesurfer-protocol model, for labels/);
    expect(await base(bert)).toBe('swinunetr-fs: the freesurfer-protocol model, for labels of that protocol (--model picks another)');
    expect(await base(bert, '--labels', 'lpba40')).toBe('swinunetr-fs: the freesurfer-protocol model, the one seahorse segment uses on full heads (--model picks another)');
    expect(await base(bert, '--model', 'unetr')).toBeUndefined();
  }, SLOW);
});

describe.skipIf(!hasShared)(`seahorse finetune → segment --adapter on MSD crops ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-finetune-'));
  const adapterPath = join(work, 'tiny.seahorse-adapter');
  const scan = join(msdDir, 'images/hippocampus_003.nii.gz');

  it(
    'trains, writes an adapter tied to its base, and segment applies it',
    async () => {
      const split = join(msdDir, 'split.json');
      const run = await cli(['finetune', '--model', 'unetr-tiny-test', '--data', msdDir, '--split', split, '--set', 'fewshot_pool', '--limit', '2', '--steps', '1', '--batch', '1', '--engine', 'wasm', '-o', adapterPath, '--json']);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout);
      // Two labelled scans: below DECODER_FROM_SCANS, so the decoder stays frozen by default.
      expect(report).toMatchObject({ steps: 1, status: 'done', cases: 2, method: { method: 'lorapt', ranks: { W_up: 1, W_sa: 1, W_down: 1 }, trainDecoder: false } });
      expect(report.caveat).toMatch(/UNTRAINED/);
      // Nothing scored it on scans it did not train on: said.
      expect(report.cautions).toEqual([{ level: 'note', message: expect.stringMatching(/^Not validated: /) }]);
      // 10,824 factor scalars (fixtures §C) + UNETR-tiny's decoder5…decoder2.
      expect(report.trainable.method).toBe(10_824);
      expect(Number.isFinite(report.loss.first)).toBe(true);

      const adapter = await decodeAdapter(new Uint8Array(readFileSync(adapterPath)));
      expect(adapter.base).toMatchObject({ kind: 'unetr', label: 'unetr-tiny-test' });
      // UNETR's rate from the few-shot validation sweep (src/train/finetune-defaults.ts).
      expect(adapter.training).toMatchObject({ steps: 1, lr: 3e-4, cases: ['hippocampus_001.nii.gz', 'hippocampus_003.nii.gz'] });
      expect([...adapter.init.keys()]).toEqual(['W_up.Ur', 'W_up.Sr', 'W_up.Vr', 'W_sa.Ur', 'W_sa.Sr', 'W_sa.Vr', 'W_down.Ur', 'W_down.Sr', 'W_down.Vr']);

      const out = join(work, 'labels.nii.gz');
      // Without --model, the model the adapter was trained on; adapted on MSD's labels, it follows MSD's protocol.
      const seg = await cli(['segment', scan, '-o', out, '--adapter', adapterPath, '--json']);
      expect(seg.stderr).toBe('');
      expect(seg.status).toBe(0);
      const segReport = JSON.parse(seg.stdout);
      expect(segReport.model).toMatchObject({ id: 'unetr-tiny-test', protocol: 'msd' });
      expect(segReport.adapter).toMatchObject({ method: { method: 'lorapt' }, base: { fingerprint: adapter.base.fingerprint } });
      expect(readVolume(new Uint8Array(readFileSync(out)), out).dims).toEqual(readVolume(new Uint8Array(readFileSync(scan)), scan).dims);
    },
    SLOW,
  );

  it(
    '--train and --val folders with --epochs: trains one epoch on the automatic engine and reports validation before and after',
    async () => {
      // Folders as a user has them: images/ and labels/ with the same file names.
      const make = (name: string, c: string) => {
        const dir = join(work, name);
        for (const sub of ['images', 'labels']) {
          mkdirSync(join(dir, sub), { recursive: true });
          symlinkSync(join(msdDir, sub, c), join(dir, sub, c));
        }
        return dir;
      };
      const trainDir = make('train', 'hippocampus_205.nii.gz');
      const valDir = make('val', 'hippocampus_001.nii.gz');
      const out = join(work, 'epochs.seahorse-adapter');
      const run = await cli(['finetune', '--model', 'unetr-tiny-test', '--train', trainDir, '--val', valDir, '--epochs', '1', '--batch', '1', '--lr', '0.01', '-o', out, '--json']);
      expect(run.status, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report).toMatchObject({ steps: 1, cases: 1, status: 'done', validation: { cases: 1 } });
      // A hardware GPU gets WebGPU (its description names the Dawn lane); anything else the wasm engine.
      expect(report.engine).toMatch(/^wasm \(float32|via Dawn/);
      // A warning exactly when the adapted model scores below its base on the validation scan.
      const fell = report.validation.after.dice < report.validation.before.dice;
      expect(report.cautions).toEqual(fell ? [{ level: 'warning', message: expect.stringMatching(/^The adapted model scores below its base/) }] : []);
      for (const when of ['before', 'after']) {
        expect(Number.isFinite(report.validation[when].loss)).toBe(true);
        expect(report.validation[when].dice).toBeGreaterThanOrEqual(0);
      }
      const adapter = await decodeAdapter(new Uint8Array(readFileSync(out)));
      expect(adapter.training).toMatchObject({ steps: 1, validation: { cases: 1 } });
    },
    SLOW,
  );

  it('refuses another base model and a corrupted adapter, with a clear message', async () => {
    const other = await cli(['segment', scan, '-o', join(work, 'x.nii.gz'), '--model', 'swinunetr-tiny-test', '--adapter', adapterPath]);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/this adapter was trained on a UNETR \("unetr-tiny-test"\); model swinunetr-tiny-test is a SwinUNETR/);
    const bytes = readFileSync(adapterPath);
    const broken = join(work, 'broken.seahorse-adapter');
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(broken, bytes);
    const corrupt = await cli(['segment', scan, '-o', join(work, 'y.nii.gz'), '--model', 'unetr-tiny-test', '--adapter', broken]);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/adapter file broken.seahorse-adapter is corrupted or truncated/);
    const missing = await cli(['segment', scan, '-o', join(work, 'z.nii.gz'), '--model', 'unetr-tiny-test', '--adapter', join(work, 'none.seahorse-adapter')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/adapter file not found/);
  });

  it('eval --adapter scores the adapted model: the base model from the adapter, the adapter named in the table and the JSON; another base refused', async () => {
    const split = join(msdDir, 'split.json');
    const json = join(work, 'eval.json');
    const run = await cli(['eval', '--adapter', adapterPath, '--data', msdDir, '--split', split, '--set', 'val', '--limit', '1', '--json', json]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Model unetr-tiny-test /m);
    expect(run.stdout).toMatch(/^Adapter .*tiny\.seahorse-adapter: LoRA-PT \(ranks W_up 1, W_sa 1, W_down 1\), 1 steps, base unetr-tiny-test/m);
    const written = JSON.parse(readFileSync(json, 'utf8'));
    expect(written.model.id).toBe('unetr-tiny-test');
    expect(written.adapter).toMatchObject({ method: { method: 'lorapt' }, base: { kind: 'unetr', label: 'unetr-tiny-test' }, training: { steps: 1 } });
    expect(written.cases).toHaveLength(1);
    const other = await cli(['eval', '--model', 'swinunetr-tiny-test', '--adapter', adapterPath, '--data', msdDir, '--split', split, '--set', 'val', '--limit', '1']);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/this adapter was trained on a UNETR \("unetr-tiny-test"\); model swinunetr-tiny-test is a SwinUNETR/);
  });
});
