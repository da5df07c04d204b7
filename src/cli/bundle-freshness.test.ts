/**
 * bin/seahorse.mjs runs the prebuilt CLI bundle only while it is newer than its sources: an
 * edited source file sends it back to the TypeScript through tsx (so an edit is never
 * shadowed), an edited test does not (tests are not in the bundle). Checked on a copy of the
 * launcher in a scratch tree whose "bundle" only says that it ran.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../testing/cli';

function scratchTree() {
  const root = mkdtempSync(join(tmpdir(), 'seahorse-launcher-'));
  for (const dir of ['bin', 'scripts', 'src', '.cache/cli']) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(join(repoRoot, 'bin/seahorse.mjs'), join(root, 'bin/seahorse.mjs'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  writeFileSync(join(root, 'scripts/build-cli.mjs'), '');
  writeFileSync(join(root, 'src/code.ts'), '');
  writeFileSync(join(root, 'src/code.test.ts'), '');
  writeFileSync(join(root, '.cache/cli/main.mjs'), "export async function main() { console.log('ran the bundle'); return 0; }\n");
  const at = (path: string, secondsAgo: number) => {
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), t, t);
  };
  for (const path of ['package.json', 'scripts/build-cli.mjs', 'src/code.ts', 'src/code.test.ts', 'src']) at(path, 60);
  at('.cache/cli/main.mjs', 30);
  const run = () => spawnSync(process.execPath, [join(root, 'bin/seahorse.mjs')], { encoding: 'utf8' });
  return { at, run };
}

describe('bin/seahorse.mjs chooses the bundle by freshness', () => {
  it('runs the bundle when it is newer than the sources, and after a test was edited', () => {
    const tree = scratchTree();
    expect(tree.run().stdout).toBe('ran the bundle\n');
    tree.at('src/code.test.ts', 0);
    expect(tree.run().stdout).toBe('ran the bundle\n');
  });

  it('leaves the bundle when a source file is newer (here tsx is absent, so the run fails instead)', () => {
    const tree = scratchTree();
    tree.at('src/code.ts', 0);
    const run = tree.run();
    expect(run.stdout).not.toContain('ran the bundle');
    expect(run.status).not.toBe(0);
  });
});
