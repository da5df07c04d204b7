import { describe, expect, it } from 'vitest';
import { bucketBytes } from './pool';

describe('buffer pool buckets', () => {
  it('cover the request, are powers of two up to 1 MiB and waste at most 1/8 beyond', () => {
    let prev = 0;
    for (let bytes = 4; bytes < 2 ** 31; bytes = Math.ceil(bytes * 1.37) + 4) {
      const b = bucketBytes(bytes);
      expect(b).toBeGreaterThanOrEqual(bytes);
      expect(b).toBeGreaterThanOrEqual(prev);
      if (b <= 2 ** 20) expect(Math.log2(b) % 1).toBe(0);
      else expect(b / bytes).toBeLessThanOrEqual(1 + 1 / 8);
      prev = b;
    }
    expect(bucketBytes(1)).toBe(256);
  });
});
