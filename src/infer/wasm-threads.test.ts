import { describe, expect, it } from 'vitest';
import { MAX_ORT_WASM_THREADS, ortWasmThreads } from './wasm-threads';

describe('ortWasmThreads', () => {
  it('gives one thread to a page without cross-origin isolation, whatever was asked', () => {
    expect(ortWasmThreads({ isolated: false, cores: 8 })).toBe(1);
    expect(ortWasmThreads({ isolated: false, cores: 8, asked: 4 })).toBe(1);
  });

  it('leaves one core to the page on an isolated page, up to the cap', () => {
    expect(ortWasmThreads({ isolated: true, cores: 1 })).toBe(1);
    expect(ortWasmThreads({ isolated: true, cores: 2 })).toBe(1);
    expect(ortWasmThreads({ isolated: true, cores: 4 })).toBe(3);
    expect(ortWasmThreads({ isolated: true, cores: 16 })).toBe(MAX_ORT_WASM_THREADS);
    expect(ortWasmThreads({ isolated: true, cores: undefined })).toBe(1);
  });

  it('follows a count asked for, within the cap, and ignores one that is not a count', () => {
    expect(ortWasmThreads({ isolated: true, cores: 2, asked: 1 })).toBe(1);
    expect(ortWasmThreads({ isolated: true, cores: 2, asked: 3 })).toBe(3);
    expect(ortWasmThreads({ isolated: true, cores: 16, asked: 64 })).toBe(MAX_ORT_WASM_THREADS);
    expect(ortWasmThreads({ isolated: true, cores: 8, asked: 0 })).toBe(4);
    expect(ortWasmThreads({ isolated: true, cores: 4, asked: Number.NaN })).toBe(3);
  });
});
