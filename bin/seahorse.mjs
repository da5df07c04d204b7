#!/usr/bin/env node
// `npx seahorse …` inside the repository. Runs the prebuilt bundle of the CLI
// (scripts/build-cli.mjs, made by `npm ci`) while it is newer than every file under src/ but tests,
// package.json and its build script; otherwise the TypeScript source through tsx, no build
// step (so an edit is never shadowed by a stale bundle). SEAHORSE_CLI=source forces tsx.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = new URL('../.cache/cli/main.mjs', import.meta.url);

/** Whether the bundle was built after the last change to anything it was built from. */
function bundleIsFresh() {
  if (process.env.SEAHORSE_CLI === 'source') return false;
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = [`${root}package.json`, `${root}scripts/build-cli.mjs`, `${root}src`];
    // Tests are not in the bundle: editing one leaves it fresh.
    for (const entry of readdirSync(`${root}src`, { recursive: true })) if (!/\.test\.tsx?$/.test(entry)) inputs.push(`${root}src/${entry}`);
    return inputs.every((path) => statSync(path).mtimeMs < built);
  } catch {
    return false;
  }
}

let main;
if (bundleIsFresh()) {
  // Modules that start threads from the bundle's other entries find them here (src/cli/template-thread.ts, model-thread.ts).
  globalThis.seahorseCliBundle = bundle.href;
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
