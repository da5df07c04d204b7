import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the project's reference data and fixtures live. They are never committed:
 * CI and developers have them at `../shared` beside the checkout; `SEAHORSE_SHARED`
 * overrides that.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sharedDir = resolve(process.env.SEAHORSE_SHARED ?? join(repoRoot, '..', 'shared'));
export const fixturesDir = join(sharedDir, 'fixtures');
export const dataDir = resolve(process.env.SEAHORSE_DATA ?? join(sharedDir, 'data'));
export const msdDir = join(dataDir, 'msd_hippocampus');

export const hasShared = existsSync(fixturesDir) && existsSync(dataDir);

/** A message for `describe.skipIf(!hasShared)` so a missing checkout says why it skipped. */
export const sharedMissing = `../shared not found at ${sharedDir} (set SEAHORSE_SHARED)`;
