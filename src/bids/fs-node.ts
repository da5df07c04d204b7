/** Node file-system side of the BIDS App: listing a dataset, atomic writes, JSON reads. */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Top-level folders of a BIDS dataset that hold no raw data to discover (BIDS 1.9, "Dataset structure"). */
const SKIP_TOP = new Set(['derivatives', 'sourcedata', 'code', 'stimuli']);

/**
 * Every file under `root` as a `/`-separated relative path, sorted; hidden entries and the
 * folders in SKIP_TOP are not entered. Symbolic links are followed (DataLad datasets are links).
 */
export function listDataset(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      if (!rel && SKIP_TOP.has(name)) continue;
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      let isDir = false;
      try {
        isDir = statSync(abs).isDirectory();
      } catch {
        continue; // a broken link: not a file we can read
      }
      if (isDir) walk(abs, path);
      else out.push(path);
    }
  };
  walk(root, '');
  return out;
}

/**
 * Writes through a temporary file and a rename, so a killed run leaves either the old file
 * or the new one, never half of one (what makes a rerun safe to skip finished scans).
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function readJsonIfExists(path: string): unknown | null {
  return existsSync(path) ? readJson(path) : null;
}
