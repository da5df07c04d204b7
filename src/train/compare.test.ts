/**
 * The comparison runner: its pure parts (training-set draws, summaries, scored structures),
 * and one real end-to-end pass on the untrained UNETR test fixture (plumbing only: the
 * engine trains, the adapter merges into the ONNX, onnxruntime-node scores the merged model)
 * with head/body labels and with whole-hippocampus labels, and a which-tensor probe (`trainOnly`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { createCpuEngine } from '../engine';
import { createOrtNodeBackend } from '../infer/ort-node';
import { readModelNode } from '../infer/registry-node';
import { readOnnxModel } from '../models/load';
import { loraptTensorCount } from '../peft/lorapt';
import { modelShapeOf } from '../peft/merge';
import { loraptTensorSpecs } from '../peft/targets';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { drawTrainingSet, methodLabel, runComparison, structuresOf, summarise, WHOLE, ZERO_SHOT, type ComparisonResult, type LabelledScan, type RunResult } from './compare';
import { applyLabelMap, parseLabelMap } from './label-map';
import { asLabels } from './samples';

const LABELS = [
  { value: 0, name: 'background', rgb: [0, 0, 0] as const },
  { value: 1, name: 'head', rgb: [1, 1, 1] as const },
  { value: 2, name: 'body', rgb: [2, 2, 2] as const },
];

function run(method: string, k: number, seed: number, wholeDice: number[]): RunResult {
  return {
    method, k, seed, config: null, trainCases: [], trainable: null, status: 'done', steps: 1, losses: [], msPerStep: 10 * seed, trainMs: 100, evalMs: 1, peakBytes: seed,
    scores: wholeDice.map((d, i) => ({ case: `c${i}`, structures: [{ structure: WHOLE, dice: d, hd95: 1 }] })),
  };
}

describe('comparison helpers', () => {
  it('draws nested, seeded training sets and refuses impossible k', () => {
    const pool = [...'abcdefghij'];
    const k3 = drawTrainingSet(pool, 3, 5);
    expect(drawTrainingSet(pool, 3, 5)).toEqual(k3);
    expect(drawTrainingSet(pool, 5, 5).slice(0, 3)).toEqual(k3);
    expect(new Set(drawTrainingSet(pool, 10, 5)).size).toBe(10);
    expect(drawTrainingSet(pool, 3, 6)).not.toEqual(k3);
    expect(() => drawTrainingSet(pool, 11, 1)).toThrow(/k = 11 training scans asked for, but the pool holds 10/);
    expect(() => drawTrainingSet(pool, 0, 1)).toThrow(/positive integer/);
  });

  it('names methods with the options that differ from the defaults', () => {
    expect(methodLabel({ method: 'hyps' })).toBe('HyPS');
    expect(methodLabel({ method: 'hyps', trainDecoder: false })).toBe('HyPS (no decoder)');
    expect(methodLabel({ method: 'lora', rank: 4 })).toBe('LoRA (r=4)');
    expect(methodLabel({ method: 'lorapt', trainDecoder: false, trainOnly: ['W_up', 'W_down'] })).toBe('LoRA-PT (no decoder, only W_up + W_down)');
  });

  it('scores head, body and whole, or the whole only', () => {
    expect(structuresOf(LABELS, 'classes').map((s) => s.name)).toEqual(['head', 'body', WHOLE]);
    expect(structuresOf(LABELS, 'whole')).toEqual([{ name: WHOLE, value: 'foreground' }]);
  });

  it('summarises mean ± sd over seeds of per-run means, leaving out NaN cases', () => {
    const result: ComparisonResult = {
      device: 'test',
      structures: [WHOLE],
      runs: [run(ZERO_SHOT, 0, 0, [0.5, 0.7]), run('LoRA', 1, 1, [0.6, NaN, 0.8]), run('LoRA', 1, 2, [0.8, 0.8])],
    };
    const rows = summarise(result);
    expect(rows.map((r) => [r.method, r.k, r.seeds])).toEqual([[ZERO_SHOT, 0, 1], ['LoRA', 1, 2]]);
    expect(rows[0].dice[WHOLE].mean).toBeCloseTo(0.6, 12);
    expect(rows[0].dice[WHOLE].sd).toBeNaN(); // one seed: no spread
    expect(rows[1].dice[WHOLE].mean).toBeCloseTo(0.75, 12);
    expect(rows[1].dice[WHOLE].sd).toBeCloseTo(Math.SQRT1_2 * 0.1, 12);
    expect(rows[1].msPerStep).toBe(15);
    expect(rows[1].peakBytes).toBe(2);
  });
});

describe.skipIf(!hasShared)(`comparison end to end (UNETR test fixture, CPU engine)${hasShared ? '' : ` — ${sharedMissing}`}`, () => {
  const split = hasShared ? (JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>) : {};
  const read = (c: string): LabelledScan => {
    const v = (d: string) => readVolume(new Uint8Array(readFileSync(join(msdDir, d, c))), c);
    return { id: c, image: v('images'), labels: asLabels(v('labels'), c) };
  };

  for (const space of ['classes', 'whole'] as const) {
    it(`trains, merges and scores (${space} labels)`, async () => {
      const engine = createCpuEngine();
      const { manifest, bytes } = readModelNode('unetr-tiny-test');
      const map = parseLabelMap(space === 'whole' ? 'binary' : 'msd');
      const mapped = (s: LabelledScan) => ({ ...s, labels: applyLabelMap(s.labels, map, s.id) });
      const pool = split.fewshot_pool.slice(0, 2).map(read).map(mapped);
      const test = split.val.slice(0, 1).map(read).map(mapped);
      const seen: string[] = [];
      const states: { step: number; first: Float32Array }[] = [];
      await expect(runComparison(engine, { manifest, onnxBytes: bytes }, pool, test, { methods: [{ method: 'decoder' }], ks: [3], seeds: [1], steps: 1 }, (b) => createOrtNodeBackend(b))).rejects.toThrow(/pool holds 2/);
      const result = await runComparison(engine, { manifest, onnxBytes: bytes }, pool, test, { methods: [{ method: 'decoder' }], ks: [1], seeds: [1], steps: 2, batch: 1, space }, (b) => createOrtNodeBackend(b), {
        onRun: (r) => void seen.push(r.method),
        onState: (_key, c) => void states.push({ step: c.step, first: Float32Array.from(c.state.values().next().value!.data) }),
      });
      engine.dispose();
      // The trained tensors before the first step and after each: they move.
      expect(states.map((x) => x.step)).toEqual([0, 1, 2]);
      expect(states[2].first.some((v, i) => v !== states[0].first[i])).toBe(true);
      expect(seen).toEqual([ZERO_SHOT, 'Decoder only']);
      expect(result.structures).toEqual(space === 'whole' ? [WHOLE] : ['hippocampus head', 'hippocampus body + tail', WHOLE]);
      const [zero, tuned] = result.runs;
      expect(zero.trainable).toBeNull();
      expect(tuned.status).toBe('done');
      expect(tuned.steps).toBe(2);
      expect(tuned.trainCases).toHaveLength(1);
      expect(tuned.losses.every(Number.isFinite)).toBe(true);
      expect(tuned.trainable!.total).toBeGreaterThan(0);
      expect(tuned.trainable!.total).toBeLessThan(tuned.trainable!.modelParams);
      expect(tuned.msPerStep).toBeGreaterThan(0);
      expect(tuned.peakBytes).toBeGreaterThan(0);
      for (const r of result.runs) {
        expect(r.scores).toHaveLength(1);
        expect(r.scores[0].structures.map((s) => s.structure)).toEqual(result.structures);
        for (const s of r.scores[0].structures) expect(s.dice).toBeGreaterThanOrEqual(0);
      }

      // A resumed grid reuses the runs it is handed and computes only the others.
      const same = (key: { method: string; k: number; seed: number }) => (r: { method: string; k: number; seed: number }) => r.method === key.method && r.k === key.k && r.seed === key.seed;
      const started: string[] = [];
      const resumed = await runComparison(createCpuEngine(), { manifest, onnxBytes: bytes }, pool, test, { methods: [{ method: 'decoder' }], ks: [1], seeds: [1], steps: 2, batch: 1, space }, (b) => createOrtNodeBackend(b), {
        reuse: (key) => (key.method === ZERO_SHOT ? undefined : result.runs.find(same(key))),
        onRunStart: (key) => void started.push(key.method),
      });
      expect(started).toEqual([ZERO_SHOT]);
      expect(resumed.runs[1]).toBe(tuned);
      expect(resumed.runs[0].scores).toEqual(zero.scores);
    });
  }

  it('a trainOnly probe trains and counts only the tensors it names, and refuses a part that names none', async () => {
    const engine = createCpuEngine();
    const { manifest, bytes } = readModelNode('unetr-tiny-test');
    const map = parseLabelMap('binary');
    const mapped = (s: LabelledScan) => ({ ...s, labels: applyLabelMap(s.labels, map, s.id) });
    const pool = split.fewshot_pool.slice(0, 1).map(read).map(mapped);
    const test = split.val.slice(0, 1).map(read).map(mapped);
    const grid = { ks: [1], seeds: [1], steps: 1, batch: 1, space: 'whole' as const };
    const open = (b: Uint8Array) => createOrtNodeBackend(b);
    const onlySa = { method: 'lorapt' as const, trainDecoder: false, trainOnly: ['W_sa'] };
    const result = await runComparison(engine, { manifest, onnxBytes: bytes }, pool, test, { ...grid, methods: [onlySa] }, open);
    const { spec } = readOnnxModel(bytes);
    const shape = modelShapeOf(spec.kind, spec.config as unknown as Record<string, unknown>);
    const sa = loraptTensorSpecs(shape).find((t) => t.name === 'W_sa')!;
    const probe = result.runs[1];
    expect(probe.method).toBe('LoRA-PT (no decoder, only W_sa)');
    expect(probe.trainOnly).toEqual(['W_sa']);
    expect(probe.trainable).toMatchObject({ method: loraptTensorCount(sa, 1), base: 0, total: loraptTensorCount(sa, 1) });
    await expect(runComparison(engine, { manifest, onnxBytes: bytes }, pool, test, { ...grid, methods: [{ method: 'lorapt', trainOnly: ['W_qkv'] }] }, open)).rejects.toThrow(/trainOnly "W_qkv" matches none of LoRA-PT's tensors/);
    await expect(runComparison(engine, { manifest, onnxBytes: bytes }, pool, test, { ...grid, methods: [{ method: 'decoder', trainOnly: ['decoder'] }] }, open)).rejects.toThrow(/Decoder only has none/);
    engine.dispose();
  });
});
