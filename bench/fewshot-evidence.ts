/**
 * The few-shot benchmark's findings in the form the studio shows next to each method:
 *   npm run bench -- fewshot-evidence
 * reads bench/fewshot/results.json and writes src/app/finetune/fewshot-evidence.json, one slice per k and
 * target domain (the simulated scanner, the FreeSurfer protocol), from
 * the sections that adapted today's shipped weights (src/train/fewshot-evidence.ts; the test
 * src/train/fewshot-evidence.test.ts fails while the two disagree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listInstalledModels } from '../src/infer/registry-node';
import { currentSections, shippedEvidenceSlices, type EvidenceSection } from '../src/train/fewshot-evidence';

const root = join(import.meta.dirname, '..');
const { sections } = JSON.parse(readFileSync(join(root, 'bench', 'fewshot', 'results.json'), 'utf8')) as { sections: EvidenceSection[] };
const shipped = new Map(listInstalledModels().map((m) => [m.manifest.id, m.manifest.sha256]));
const slices = shippedEvidenceSlices(currentSections(sections, shipped));
writeFileSync(join(root, 'src', 'app', 'finetune', 'fewshot-evidence.json'), `${JSON.stringify(slices, null, 1)}\n`);
const f3 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
for (const evidence of slices) {
  console.log(`\nk = ${evidence.k}, ${evidence.domain}; whole Dice, mean over seeds (seeds)`);
  console.log('| model | method | with decoder | without decoder | zero-shot |');
  console.log('|---|---|---:|---:|---:|');
  for (const [id, m] of Object.entries(evidence.models)) {
    for (const [method, e] of Object.entries(m.methods)) {
      const cell = (x?: { dice: number; seeds: number }) => (x ? `${f3(x.dice)} (${x.seeds})` : '–');
      console.log(`| ${id} | ${method} | ${cell(e.withDecoder)} | ${cell(e.withoutDecoder)} | ${f3(m.zeroShot)} |`);
    }
  }
}
console.log(`wrote src/app/finetune/fewshot-evidence.json (${slices.map((e) => `k = ${e.k}, ${e.domain}`).join('; ')})`);
