import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from './compare';
import { listInstalledModels } from '../infer/registry-node';
import { currentSections, fewshotEvidence, fewshotEvidenceByK, GRID_EVIDENCE, PROTOCOL_EVIDENCE, REVERSE_PROTOCOL_EVIDENCE, runWholeDice, shippedEvidenceSlices, supersededReason, type EvidenceSection } from './fewshot-evidence';

const root = join(__dirname, '..', '..');

/** A run whose held-out scans score `wholes` (whole-hippocampus Dice). */
function run(method: string, k: number, seed: number, wholes: number[], trainDecoder?: boolean): RunResult {
  return {
    method,
    k,
    seed,
    config: method === 'zero-shot' ? null : ({ method, ...(trainDecoder === undefined ? {} : { trainDecoder }) } as never),
    status: method === 'zero-shot' ? 'zero-shot' : 'done',
    trainCases: [],
    trainable: null,
    steps: 80,
    losses: [],
    msPerStep: 1,
    trainMs: 1,
    evalMs: 1,
    peakBytes: 0,
    scores: wholes.map((dice, i) => ({ case: `c${i}`, structures: [{ structure: 'head', dice: 0, hd95: 0 }, { structure: 'whole', dice, hd95: 1 }] })),
  };
}

describe('fewshotEvidence', () => {
  it('averages each run over its held-out scans, then over seeds, with and without the decoder apart', () => {
    const section: EvidenceSection = {
      id: 'swinunetr',
      manifest: { onnx: 'swinunetr.onnx', sha256: 'aa' },
      domain: `${GRID_EVIDENCE.domainPrefix} (details)`,
      config: { steps: 80, lr: 'full=1e-4,*=1e-3' },
      runs: [
        run('zero-shot', 0, 0, [0.8, 0.9]),
        run('hyps', 3, 1, [0.82, 0.9]),
        run('hyps', 3, 2, [0.84, 0.9]),
        run('hyps', 3, 1, [0.9, 0.9], false),
        run('hyps', 1, 1, [0.1, 0.1]),
        { ...run('lora', 3, 1, [0.5, 0.5]), status: 'non-finite' },
        // A which-tensor probe of the same method is not the method.
        { ...run('hyps', 3, 3, [0.2, 0.2]), trainOnly: ['attn'] },
      ],
    };
    const probe: EvidenceSection = { ...section, config: { steps: 3, lr: 1e-3 }, id: 'unetr' };
    const otherDomain: EvidenceSection = { ...section, domain: 'MSD Task04 as it is', id: 'unetr-fs' };
    const e = fewshotEvidence([section, probe, otherDomain]);
    expect(Object.keys(e.models)).toEqual(['swinunetr']);
    const m = e.models.swinunetr;
    expect(m.zeroShot).toBeCloseTo(0.85, 12);
    expect(m.heldOut).toBe(2);
    expect(m.methods.hyps.withDecoder).toEqual({ dice: expect.closeTo(0.865, 12), seeds: 2 });
    expect(m.methods.hyps.withoutDecoder).toEqual({ dice: expect.closeTo(0.9, 12), seeds: 1 });
    // A run that diverged is not evidence, nor a probe that trained only some tensors (seed 3 above).
    expect(m.methods.lora).toBeUndefined();
    // One slice per k that has runs: k = 1 and 3 here (5 and 10 have none).
    const byK = fewshotEvidenceByK([section, probe, otherDomain]);
    expect(byK.map((s) => s.k)).toEqual([1, 3]);
    expect(byK[0].models.swinunetr.methods.hyps.withDecoder).toEqual({ dice: expect.closeTo(0.1, 12), seeds: 1 });
  });

  it('ships the scanner shift\'s slices, then the protocol shift\'s, then the reverse shift\'s, each marked with its domain', () => {
    const runs = [run('zero-shot', 0, 0, [0.5]), run('decoder', 1, 1, [0.55]), run('decoder', 3, 1, [0.56])];
    const base = { manifest: { onnx: 'x.onnx', sha256: 'aa' }, config: { steps: 80, lr: 1e-3 }, runs };
    const scanner: EvidenceSection = { ...base, id: 'unetr', domain: `${GRID_EVIDENCE.domainPrefix}, details`, runs: runs.slice(0, 2) };
    const protocol: EvidenceSection = { ...base, id: 'unetr', domain: `${PROTOCOL_EVIDENCE.domainPrefix} (aseg 17/53 …)` };
    const reverse: EvidenceSection = { ...base, id: 'unetr-fs', domain: `${REVERSE_PROTOCOL_EVIDENCE.domainPrefix} (no scanner shift), …`, runs: [runs[0], runs[2]] };
    const slices = shippedEvidenceSlices([reverse, protocol, scanner]);
    expect(slices.map((e) => [e.domain, e.k])).toEqual([
      [GRID_EVIDENCE.domainPrefix, 1],
      [PROTOCOL_EVIDENCE.domainPrefix, 1],
      [PROTOCOL_EVIDENCE.domainPrefix, 3],
      [REVERSE_PROTOCOL_EVIDENCE.domainPrefix, 3],
    ]);
    expect(slices[2].models.unetr.methods.decoder.withDecoder).toEqual({ dice: expect.closeTo(0.56, 12), seeds: 1 });
    // The reverse shift adapted the FreeSurfer-protocol base: its figures are under that base's id.
    expect(Object.keys(slices[3].models)).toEqual(['unetr-fs']);
  });

  it('quotes only sections that adapted the shipped weights: a retrained or recalibrated base, or one no longer shipped, is superseded', () => {
    const section = (id: string, sha256?: string) => ({ id, manifest: { onnx: `${id}.onnx`, ...(sha256 ? { sha256 } : {}) } });
    const shipped = new Map([['swinunetr', 'c42eac23ffff'], ['unetr', undefined]]);
    expect(supersededReason(section('swinunetr', 'c42eac23ffff'), shipped)).toBeNull();
    expect(supersededReason(section('swinunetr', '9e190438ffff'), shipped)).toBe('these runs adapted weights 9e190438…; the shipped models/swinunetr.onnx is c42eac23… (retrained or recalibrated since)');
    // Without a recorded hash on either side nothing shows the weights are the same ones.
    expect(supersededReason(section('unetr'), shipped)).toBe("the weights' SHA-256 is not recorded for these runs, so nothing shows they are the shipped models/unetr.onnx");
    expect(supersededReason(section('unetr', 'aa'), shipped)).toBe("the weights' SHA-256 is not recorded in models/unetr.json, so nothing shows they are the shipped models/unetr.onnx");
    expect(supersededReason(section('gone', 'aa'), shipped)).toBe('models/gone.json is no longer shipped');
    expect(currentSections([section('swinunetr', '9e190438ffff'), section('swinunetr', 'c42eac23ffff'), section('gone', 'aa')], shipped)).toEqual([section('swinunetr', 'c42eac23ffff')]);
  });

  it('leaves NaN scans out of a run’s mean', () => {
    expect(runWholeDice(run('lora', 3, 1, [0.8, NaN, 0.6]))).toBeCloseTo(0.7, 12);
  });

  it('the studio’s copy (src/app/finetune/fewshot-evidence.json) is what results.json says: npm run bench -- fewshot-evidence', () => {
    const { sections } = JSON.parse(readFileSync(join(root, 'bench', 'fewshot', 'results.json'), 'utf8')) as { sections: EvidenceSection[] };
    const committed = JSON.parse(readFileSync(join(root, 'src', 'app', 'finetune', 'fewshot-evidence.json'), 'utf8'));
    const shipped = new Map(listInstalledModels().map((m) => [m.manifest.id, m.manifest.sha256]));
    expect(committed).toEqual(JSON.parse(JSON.stringify(shippedEvidenceSlices(currentSections(sections, shipped)))));
  });
});
