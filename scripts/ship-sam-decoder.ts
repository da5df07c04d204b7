// Writes Seahorse's default SAM decoder (src/sam/default-decoder.ts) from a decoder-only adapter
// that `seahorse finetune --model sam` wrote, stored as float16:
//   npx tsx scripts/ship-sam-decoder.ts <run.seahorse-adapter>
// Prints the file's SHA-256 (SAM_DEFAULT_DECODER.sha256 pins it) and how far float16 moved the
// weights; the provenance and the measured Dice go into models/sam/sam-decoder-synth.json by hand.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAdapter, encodeAdapter } from '../src/peft/adapter-file';
import { SAM_ADAPTER_KIND } from '../src/sam/adapter';
import { SAM_DEFAULT_DECODER } from '../src/sam/default-decoder';
import { samModelsDir } from '../src/sam/model-files-node';

const source = process.argv[2];
if (!source) throw new Error('usage: npx tsx scripts/ship-sam-decoder.ts <run.seahorse-adapter>');
const adapter = await decodeAdapter(new Uint8Array(readFileSync(source)), source);
if (adapter.base.kind !== SAM_ADAPTER_KIND) throw new Error(`${source} is a ${adapter.base.kind} adapter; the default decoder must be decoder-only`);
const bytes = await encodeAdapter({ ...adapter, training: { ...adapter.training, storedAs: 'float16' } }, { dtype: 'float16' });
const back = await decodeAdapter(bytes);
let maxAbs = 0;
let sumSq = 0;
let sumSqW = 0;
let n = 0;
for (const [name, t] of adapter.trained) {
  const h = back.trained.get(name)!.data;
  for (let i = 0; i < t.data.length; i++) {
    const d = Math.abs(h[i] - t.data[i]);
    maxAbs = Math.max(maxAbs, d);
    sumSq += d * d;
    sumSqW += t.data[i] * t.data[i];
  }
  n += t.data.length;
}
mkdirSync(samModelsDir, { recursive: true });
const out = join(samModelsDir, SAM_DEFAULT_DECODER.file);
writeFileSync(out, bytes);
console.log(`${out}: ${bytes.length} bytes (float32 source ${readFileSync(source).length}), ${n} values`);
console.log(`float16 vs float32: max |Δw| ${maxAbs.toExponential(3)}, ‖Δw‖ / ‖w‖ ${Math.sqrt(sumSq / sumSqW).toExponential(3)}`);
console.log(`SHA-256 ${createHash('sha256').update(bytes).digest('hex')}`);
