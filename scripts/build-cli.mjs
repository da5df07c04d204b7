#!/usr/bin/env node
// The CLI as one prebuilt JavaScript bundle of our own source (`.cache/cli/`), so that
// `npx seahorse` starts without compiling TypeScript through tsx (~1–1.7 s saved per run on
// 2 cores). Runs as npm's `prepare` (after `npm ci` / `npm install`). bin/seahorse.mjs uses the
// bundle only while it is newer than every file under src/ but tests (and package.json and this
// script); otherwise it runs the source through tsx, so an edit is never shadowed.
//
// npm packages stay external (loaded from node_modules as before). Modules that find files
// next to themselves with `import.meta.url` (templates, models, workers, kernels) get their
// own source file's location, written relative to the bundle so the checkout can move.
// Every output file sits in one folder, so that relative path is the same in each chunk.
// Never fails an install: without src/ (a Docker layer) or esbuild, it says so and stops.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/cli/main.ts');
const outDir = join(root, '.cache/cli');

if (!existsSync(entry)) {
  console.log('[seahorse] no src/ here yet: CLI bundle not built (bin/seahorse.mjs runs the source through tsx)');
  process.exit(0);
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('[seahorse] esbuild is not installed: CLI bundle not built (bin/seahorse.mjs runs the source through tsx)');
  process.exit(0);
}

/** `import.meta.url` of a source file, as seen from a bundle file in `outDir`. */
function sourceUrlExpression(file) {
  const rel = relative(outDir, file).split(sep).join('/');
  return `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
}

const building = `${outDir}.tmp-${process.pid}`;
const started = performance.now();
try {
  await esbuild.build({
    // The worker threads that prepare the registration template and open models (src/cli/template-thread.ts, model-thread.ts),
    // and the script that fills the template's cache below.
    entryPoints: {
      main: entry,
      'template-worker': join(root, 'src/cli/template-worker.ts'),
      'model-worker': join(root, 'src/cli/model-worker.ts'),
      'template-cache-warm': join(root, 'src/cli/template-cache-warm.ts'),
    },
    bundle: true,
    splitting: true, // commands imported on demand stay separate chunks, their packages load only with them
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: building,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    logLevel: 'warning',
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(build) {
          build.onLoad({ filter: /[\\/]src[\\/].*\.tsx?$/ }, async ({ path }) => ({
            contents: (await readFile(path, 'utf8')).replaceAll('import.meta.url', sourceUrlExpression(path)),
            loader: path.endsWith('.tsx') ? 'tsx' : 'ts',
          }));
        },
      },
    ],
  });
  await rm(outDir, { recursive: true, force: true });
  await rename(building, outDir);
} catch (err) {
  await rm(building, { recursive: true, force: true });
  console.log(`[seahorse] CLI bundle not built (${err instanceof Error ? err.message : err}); bin/seahorse.mjs runs the source through tsx`);
  process.exit(0);
}
// The prepared registration template, kept in the bundle's folder (src/cli/template-cache.ts): made now
// rather than by the first `seahorse segment`. Without it that run prepares it, as before.
const warm = spawnSync(process.execPath, [join(outDir, 'template-cache-warm.mjs'), outDir], { encoding: 'utf8' });
const warmed = warm.status === 0 ? ', registration template prepared' : ` (the registration template was not prepared: ${/^\w*Error: .*$/m.exec(warm.stderr ?? '')?.[0] ?? warm.error?.message ?? `exit code ${warm.status}`})`;
console.log(`[seahorse] CLI bundle built in ${Math.round(performance.now() - started)} ms${warmed}: ${relative(root, outDir)}/`);
