import { defineConfig } from 'vitest/config';

// Three suites with stable names: `unit` (core, onnx, infer, app logic, cli),
// `engine` (WGSL engine and the models on it) and `peft` (the PEFT methods).
// `npm run test:engine` / `test:peft` select a project by name.
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
          // One GPU device per worker process; the software adapters are CPU-bound.
          pool: 'forks',
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'peft',
          include: ['src/peft/**/*.test.ts'],
          testTimeout: slow,
          hookTimeout: slow,
          pool: 'forks',
          // Runs beside the unit files (same group, same worker count); the engine suite follows alone.
          maxWorkers: 2,
        },
      },
    ],
  },
});
