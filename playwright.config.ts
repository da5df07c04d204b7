import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in Debian's headless Chromium (WebGPU and WebGL on SwiftShader, no GPU
 * needed). `npm run test:e2e` builds first; the specs run against `dist/` (and the shared
 * fixtures) served by `vite preview`, except the dev-server smoke test, which runs against
 * `vite` itself (what `npm run dev` starts: it serves sources, not the build).
 */
// SEAHORSE_E2E_PORT lets two checkouts (or two people on one machine) run the suite at once.
const port = Number(process.env.SEAHORSE_E2E_PORT ?? 4173);
/** The dev server (`vite`, what `npm run dev` starts) for e2e/dev-server.spec.ts. */
const devPort = port + 1;
const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  // SwiftShader is the only GPU here. Two of Dawn's safety nets for untrusted shaders cost it
  // 45% of ORT's time per window (measured: 155 s → 85 s for a SwinUNETR window): bounds
  // clamping and the zero-fill of workgroup memory. Every spec compares its outputs with a
  // reference. e2e/parity-swinunetr.spec.ts keeps robustness on: ORT lost the device on that graph without it.
  '--enable-dawn-features=disable_robustness,disable_workgroup_init',
];

const launchOptions = { executablePath: process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs };
/** Dawn's robustness left on: see e2e/parity-swinunetr.spec.ts. */
const robustArgs = chromiumArgs.map((a) => (a.startsWith('--enable-dawn-features=') ? '--enable-dawn-features=disable_workgroup_init' : a));
const ROBUST_SPEC = /parity-swinunetr\.spec\.ts/;
/** The prompt tool's spec: the longest (one wasm thread encoding about 40 slices). */
const SAM_SPEC = /(^|\/)sam\.spec\.ts$/;
/** Runs against the dev server: every other spec runs against the built files. */
const DEV_SPEC = /dev-server\.spec\.ts/;

export default defineConfig({
  testDir: 'e2e',
  // SwiftShader runs WebGPU and WebGL on the CPU. Two browsers at a time: the longest spec (the
  // prompt tool, 7.5 min alone) starts first, in one, and the short ones fill both, whose page
  // loads, UI waits and Node-side checks leave cores idle (measured on 2 cores: 14.2 min for the
  // suite with two workers when the SwinUNETR fixture's spec, now SEAHORSE_FULL_PARITY=1 only,
  // started last; 18+ with one).
  workers: 2,
  fullyParallel: false,
  timeout: 240_000,
  expect: { timeout: 120_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    viewport: { width: 1360, height: 820 },
    acceptDownloads: true,
    launchOptions,
  },
  // The longest specs are listed first, so that the short specs fill in behind them: started last,
  // the prompt tool's spec ran on alone for minutes.
  projects: [
    { name: 'robust', testMatch: ROBUST_SPEC, use: { launchOptions: { ...launchOptions, args: robustArgs } } },
    { name: 'sam', testMatch: SAM_SPEC },
    { name: 'studio', testIgnore: [ROBUST_SPEC, SAM_SPEC, DEV_SPEC] },
    { name: 'dev', testMatch: DEV_SPEC, use: { baseURL: `http://127.0.0.1:${devPort}` } },
  ],
  webServer: [
    {
      command: `node node_modules/vite/bin/vite.js preview --host 127.0.0.1 --port ${port} --strictPort`,
      url: `http://127.0.0.1:${port}/`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: `node node_modules/vite/bin/vite.js --host 127.0.0.1 --port ${devPort} --strictPort`,
      url: `http://127.0.0.1:${devPort}/`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
});
