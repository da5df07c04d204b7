/**
 * Model rows of the engine benchmark: one forward+backward (soft Dice on random labels) of
 * UNETR and SwinUNETR at batch 1, timed to completion, with the engine's peak memory (live +
 * pooled buffers) during the step. Weights are seeded and untrained: this measures speed only.
 */
import { backward, diceLoss, oneHot, tidy, type Engine } from '../../src/engine';
import { SwinUNETR } from '../../src/models/swinunetr';
import { UNETR } from '../../src/models/unetr';
import type { SegmentationModel } from '../../src/models/model';

interface ModelRow {
  name: string;
  size: number;
  build: (e: Engine) => SegmentationModel;
  note: string;
}

const PAPER: ModelRow[] = [
  { name: 'UNETR paper (hidden 768, 12 layers, feature 16)', size: 128, note: '', build: (e) => UNETR.init(e, { inChannels: 1, outChannels: 2, imgSize: 128 }, 1) },
  { name: 'SwinUNETR-48', size: 128, note: '', build: (e) => SwinUNETR.init(e, { inChannels: 1, outChannels: 2, featureSize: 48 }, 1) },
];

/** The fixture configurations, small enough for software adapters. */
const TINY: ModelRow[] = [
  {
    name: 'UNETR tiny (fixture config: hidden 64, feature 8)',
    size: 32,
    note: 'software adapter: fixture-size model',
    build: (e) => UNETR.init(e, { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 }, 1),
  },
  {
    name: 'SwinUNETR tiny (fixture config: feature 12)',
    size: 32,
    note: 'software adapter: fixture-size model at 32³',
    build: (e) => SwinUNETR.init(e, { inChannels: 1, outChannels: 3, featureSize: 12 }, 1),
  },
];

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function step(e: Engine, row: ModelRow): Promise<string> {
  let model: SegmentationModel | null = null;
  try {
    model = row.build(e);
    const n = row.size ** 3;
    const x = e.randn([1, 1, row.size, row.size, row.size], { seed: 7 });
    const t = oneHot(e, Array.from({ length: n }, (_, i) => (i * 7919) % model!.outChannels), [1, row.size, row.size, row.size], model.outChannels);
    const params = model.params.trainable();
    const once = async () => {
      const l = tidy(() => diceLoss(model!.forward(x), t));
      backward(l);
      await l.item();
      l.dispose();
      for (const p of params) p.zeroGrad();
      await e.sync();
    };
    await once(); // warm-up: pipelines, pool
    e.resetPeak();
    const t0 = performance.now();
    await once();
    const ms = performance.now() - t0;
    const peak = e.memory().peakBytes;
    x.dispose();
    t.dispose();
    return `| ${row.name} | ${row.size}³ | ${ms.toFixed(0)} ms | ${mib(peak)} | ${row.note} |`;
  } catch (err) {
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return `| ${row.name} | ${row.size}³ | not measured | — | ${msg.replaceAll('|', '/')} |`;
  } finally {
    model?.dispose();
  }
}

export async function modelSteps(e: Engine, opts: { software: boolean }): Promise<string[]> {
  const rows = opts.software ? TINY : PAPER;
  const out: string[] = opts.software ? PAPER.map((r) => `| ${r.name} | ${r.size}³ | not run | — | software adapter: a step would take many minutes (--full to try) |`) : [];
  for (const r of rows) {
    process.stderr.write(`  model: ${r.name}…\n`);
    out.push(await step(e, r));
  }
  return out;
}
