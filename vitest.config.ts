import { defineConfig } from 'vitest/config';

// Three suites with stable names: `unit` (core, onnx, infer, app logic, cli),
// `engine` (WGSL engine and the models on it) and `peft` (the PEFT methods).
// `npm run test:engine` / `test:peft` select a project by name. All three share one group of two
// workers (same maxWorkers), so `npm test` keeps both cores of a CI machine busy throughout.
const slow = 10 * 60_000; // WebGPU on a software adapter is slow; a case may take minutes.

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: ['src/engine/**', 'src/models/**', 'src/peft/**', 'src/train/**'],
          testTimeout: 120_000,
          // Most unit files run single-threaded JavaScript: two at a time use both cores of a CI
          // machine (vitest's default is cores − 1, i.e. one).
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'engine',
          include: ['src/engine/**/*.test.ts', 'src/models/**/*.test.ts', 'src/train/**/*.test.ts'],
          testTimeout: slow,
          hookTimeout: slow,
          // A process per file (one GPU device each). Two at a time: the longest files are the
          // float64 CPU parity runs, single-threaded JavaScript that leaves a core free.
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'peft',
          include: ['src/peft/**/*.test.ts'],
          testTimeout: slow,
          hookTimeout: slow,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
    ],
  },
});
