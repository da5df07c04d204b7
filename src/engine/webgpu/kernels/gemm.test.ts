/**
 * The GEMM tile table and its choice (pure; the kernels themselves are checked against the
 * float64 engine in src/engine/webgpu.test.ts, with sizes that land on every tile).
 */
import { describe, expect, it } from 'vitest';
import { chooseTile, TILE_L, TILE_M16, TILE_M8, TILE_S, type Tile } from './gemm';

const F32 = 4;
/** WebGPU's default maxComputeWorkgroupStorageSize, which every adapter grants. */
const DEFAULT_WORKGROUP_STORAGE = 16384;

describe('GEMM tiles', () => {
  it.each([['L', TILE_L], ['S', TILE_S], ['M16', TILE_M16], ['M8', TILE_M8]] as [string, Tile][])('%s: 256 threads, staging within the default workgroup storage', (_, t) => {
    expect((t.TM / t.RM) * (t.TN / t.RN)).toBe(256);
    expect((t.TM + t.TN) * t.TK * F32).toBeLessThanOrEqual(DEFAULT_WORKGROUP_STORAGE);
  });

  it('picks the tile by rows, so few-row products (decoder convolutions, output heads) do not compute padding', () => {
    expect(chooseTile(1, 32768)).toBe(TILE_M8);
    expect(chooseTile(8, 32768)).toBe(TILE_M8);
    expect(chooseTile(9, 32768)).toBe(TILE_M16);
    expect(chooseTile(32, 32768)).toBe(TILE_M16);
    expect(chooseTile(33, 32768)).toBe(TILE_S);
    expect(chooseTile(127, 4096)).toBe(TILE_S);
    expect(chooseTile(128, 128)).toBe(TILE_L);
    expect(chooseTile(4096, 64)).toBe(TILE_S);
  });
});
