/**
 * SAM decoder adapters: written in the project's adapter format, merged into sam.onnx's
 * initializers by name (folded and transposed ones included), refused on another base.
 */
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../onnx/proto';
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { applyAdapterToOnnx } from '../peft/apply';
import { BaseModelMismatchError } from '../peft/errors';
import { applySamAdapter, makeSamAdapter } from './adapter';
import { readSamDecoderWeights, samDecoderWeightRefs, type HostWeight } from './decoder-weights';
import { readSamModel } from './model-files-node';

describe('SAM decoder adapter', () => {
  it('merges trained tensors into their initializers, leaves the rest, and refuses other bases', async () => {
    const bytes = readSamModel('decoder');
    const refs = samDecoderWeightRefs(decodeModel(bytes));
    // Every mapped initializer is distinct (no two parameters write one tensor).
    expect(new Set(refs.map((r) => r.initializer)).size).toBe(refs.length);
    expect(refs.filter((r) => r.layout === 'transposed')).toHaveLength(32); // 7 attention modules × q, k, v, out + 2 MLPs × 2 (the transformer's MatMuls)
    const base = readSamDecoderWeights(decodeModel(bytes), refs);
    const bump = (name: string): [string, HostWeight] => {
      const w = base.get(name)!;
      return [name, { shape: w.shape, data: w.data.map((v, i) => v + 0.001 * ((i % 7) - 3)) }];
    };
    const changed = ['mask_decoder.transformer.layers.0.self_attn.q_proj.weight', 'mask_decoder.output_tokens', 'mask_decoder.output_upscaling.1.weight', 'mask_decoder.iou_prediction_head.layers.2.bias'];
    const trained = new Map([...base].filter(([n]) => !n.endsWith('gaussian_matrix')).map(([n, w]) => (changed.includes(n) ? bump(n) : [n, w])));
    const adapter = await decodeAdapter(await encodeAdapter(await makeSamAdapter(base, trained, { steps: 0 })));
    expect(adapter.base.kind).toBe('sam-decoder');
    expect(adapter.method).toEqual({ method: 'decoder' });

    const merged = await applySamAdapter(bytes, adapter);
    expect(merged.replaced).toBe(trained.size);
    const after = readSamDecoderWeights(decodeModel(merged.bytes));
    const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let n = 0;
      for (let i = 0; i < a.length; i++) n += +(a[i] !== Math.fround(b[i]));
      return n;
    };
    let wrong = 0;
    for (const [n, w] of base) wrong += differing(after.get(n)!.data, (trained.get(n) ?? w).data);
    expect(wrong).toBe(0);
    expect(differing(after.get(changed[0])!.data, base.get(changed[0])!.data)).toBeGreaterThan(0);

    // Another base (the merged model itself) and the segmentation models' path are refused.
    await expect(applySamAdapter(merged.bytes, adapter)).rejects.toThrow(BaseModelMismatchError);
    await expect(applyAdapterToOnnx(bytes, adapter)).rejects.toThrow(/seahorse prompt --adapter/);
  }, 60_000);
});
