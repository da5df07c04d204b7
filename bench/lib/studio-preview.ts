/**
 * The production studio as the page benchmarks drive it: `dist/` served by `vite preview`
 * (cross-origin isolated, as shipped) and Debian's headless Chromium (/usr/bin/chromium, or
 * SEAHORSE_CHROMIUM; WebGL on SwiftShader when there is no GPU).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const root = join(import.meta.dirname, '..', '..');

export async function startPreview(port: number): Promise<ChildProcess> {
  if (!existsSync(join(root, 'dist', 'index.html'))) throw new Error('dist/ is missing: run `npx vite build` first');
  const server = spawn(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: root,
    stdio: 'ignore',
  });
  for (let t = 0; t < 120; t++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      if (response.ok) {
        if (response.headers.get('cross-origin-embedder-policy') !== 'require-corp') throw new Error('the preview server is not cross-origin isolated');
        return server;
      }
    } catch (error) {
      if (error instanceof Error && error.message.includes('isolated')) throw error;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  server.kill();
  throw new Error(`vite preview did not answer on port ${port}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The machine, the browser, its WebGL renderer and the build, as a benchmark's heading prints them. */
export async function describeRun(name: string, browser: Browser): Promise<string> {
  const page = await browser.newPage();
  const gl = await page.evaluate(() => {
    const c = document.createElement('canvas').getContext('webgl2');
    const info = c?.getExtension('WEBGL_debug_renderer_info');
    return c && info ? String(c.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'no WebGL2';
  });
  await page.close();
  const built = statSync(join(root, 'dist', 'index.html')).mtime.toISOString();
  return [
    `${name}: ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    `Chromium ${browser.version()} headless, WebGL: ${gl}; build of ${built}`,
  ].join('\n');
}
