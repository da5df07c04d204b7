import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dataDir, hasShared, sharedMissing } from '../../testing/shared';
import { serializeModel } from '../proto';
import type { Activation, LayersModel } from './layers';
import { readLayersModel, TfjsModelError } from './layers';
import { layersToOnnx } from './to-onnx';

const brainchop = join(dataDir, 'peers', 'brainchop');

function load(dir: string): LayersModel {
  const json = readFileSync(join(dir, 'model.json'), 'utf8');
  const paths = (JSON.parse(json).weightsManifest as { paths: string[] }[]).flatMap((g) => g.paths);
  return readLayersModel(json, new Map(paths.map((p) => [p, new Uint8Array(readFileSync(join(dir, p)))])));
}

/**
 * The reference: the same layers in float64, straight from TensorFlow's definitions, on
 * a channels-last volume [D, H, W, C]. 'same' padding puts floor(total/2) before.
 */
function referenceForward(model: LayersModel, input: Float64Array, dims: readonly [number, number, number]): Float64Array {
  const [D, H, W] = dims;
  let x = input;
  let channels = model.inputShape[3] as number;
  const act = (v: Float64Array, a: Activation, c: number) => {
    if (a === 'relu') return v.map((t) => Math.max(0, t));
    if (a === 'elu') return v.map((t) => (t > 0 ? t : Math.expm1(t)));
    if (a === 'sigmoid') return v.map((t) => 1 / (1 + Math.exp(-t)));
    if (a === 'softmax') {
      const out = new Float64Array(v.length);
      for (let p = 0; p < v.length; p += c) {
        const m = Math.max(...v.subarray(p, p + c));
        let s = 0;
        for (let q = 0; q < c; q++) s += (out[p + q] = Math.exp(v[p + q] - m));
        for (let q = 0; q < c; q++) out[p + q] /= s;
      }
      return out;
    }
    return v;
  };
  for (const layer of model.layers) {
    if (layer.kind === 'activation') {
      x = act(x, layer.activation, channels);
      continue;
    }
    const [kd, kh, kw] = layer.kernel;
    const [dd, dh, dw] = layer.dilation;
    const co = layer.filters;
    const before = layer.kernel.map((k, a) => (layer.padding === 'same' ? Math.floor((layer.dilation[a] * (k - 1)) / 2) : 0));
    const out = new Float64Array(D * H * W * co);
    for (let z = 0; z < D; z++) {
      for (let y = 0; y < H; y++) {
        for (let v = 0; v < W; v++) {
          const o0 = ((z * H + y) * W + v) * co;
          for (let o = 0; o < co; o++) out[o0 + o] = layer.bias ? layer.bias[o] : 0;
          for (let a = 0; a < kd; a++) {
            const zz = z + a * dd - before[0];
            if (zz < 0 || zz >= D) continue;
            for (let b = 0; b < kh; b++) {
              const yy = y + b * dh - before[1];
              if (yy < 0 || yy >= H) continue;
              for (let c = 0; c < kw; c++) {
                const vv = v + c * dw - before[2];
                if (vv < 0 || vv >= W) continue;
                const i0 = ((zz * H + yy) * W + vv) * channels;
                const w0 = ((a * kh + b) * kw + c) * channels * co;
                for (let i = 0; i < channels; i++) {
                  const xi = x[i0 + i];
                  const wi = w0 + i * co;
                  for (let o = 0; o < co; o++) out[o0 + o] += xi * layer.weights[wi + o];
                }
              }
            }
          }
        }
      }
    }
    channels = co;
    x = act(out, layer.activation, channels);
  }
  return x;
}

async function runOnnx(model: LayersModel, input: Float32Array, dims: readonly [number, number, number]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(serializeModel(layersToOnnx(model)));
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, 1, ...dims]) });
    return { data: out.output.data as Float32Array, dims: out.output.dims };
  } finally {
    await session.release();
  }
}

/** A smooth, T1-like test volume in [0, 1] (what brainchop feeds: intensities scaled to 0–1). */
function testVolume(dims: readonly [number, number, number]): Float32Array {
  const [D, H, W] = dims;
  const out = new Float32Array(D * H * W);
  for (let z = 0, n = 0; z < D; z++) for (let y = 0; y < H; y++) for (let v = 0; v < W; v++, n++) out[n] = 0.5 + 0.4 * Math.sin(z * 0.7 + y * 0.3) * Math.cos(v * 0.5 - y * 0.2);
  return out;
}

describe('TF.js layers → ONNX', () => {
  it('refuses what it cannot convert faithfully, by name', () => {
    const json = (layer: object) =>
      JSON.stringify({
        format: 'layers-model',
        modelTopology: { model_config: { class_name: 'Sequential', config: { layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 8, 8, 8, 1] } }, layer] } } },
        weightsManifest: [],
      });
    expect(() => readLayersModel(json({ class_name: 'MaxPooling3D', config: { name: 'pool' } }), new Map())).toThrow(/MaxPooling3D is not supported/);
    expect(() =>
      readLayersModel(json({ class_name: 'Conv3D', config: { name: 'c', filters: 2, kernel_size: [3, 3, 3], strides: [2, 2, 2], dilation_rate: 1, padding: 'same', data_format: 'channels_last', activation: 'linear', use_bias: false } }), new Map()),
    ).toThrow(TfjsModelError);
    expect(() => readLayersModel('{"format":"graph-model"}', new Map())).toThrow(/not a TensorFlow.js layers model/);
  });

  describe.skipIf(!hasShared)(`on brainchop's MeshNet models ${hasShared ? '' : sharedMissing}`, () => {
    for (const name of ['model18cls', 'model5_gw_ae']) {
      it(`${name}: onnxruntime on the converted model matches a float64 reference of the TF layers`, async () => {
        const model = load(join(brainchop, name));
        // Unequal sides catch a swapped axis; dilations up to 16 reach past this size,
        // which exercises the zero padding.
        const dims = [14, 12, 10] as const;
        const input = testVolume(dims);
        const expected = referenceForward(model, Float64Array.from(input), dims);
        const got = await runOnnx(model, input, dims);
        const classes = (model.layers.filter((l) => l.kind === 'conv3d').at(-1) as { filters: number }).filters;
        expect(got.dims).toEqual([1, classes, ...dims]);
        // ONNX is NCDHW, the reference channels-last: compare element by element.
        let maxDiff = 0;
        let maxRef = 0;
        const voxels = dims[0] * dims[1] * dims[2];
        for (let c = 0; c < classes; c++) {
          for (let p = 0; p < voxels; p++) {
            const ref = expected[p * classes + c];
            maxRef = Math.max(maxRef, Math.abs(ref));
            maxDiff = Math.max(maxDiff, Math.abs(got.data[c * voxels + p] - ref));
          }
        }
        // float32 against float64 through ~10 layers of ≤ 27·30 products: a few 1e-6 relative.
        expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxRef));
      }, 300_000);
    }

    it('converts every brainchop model and runs it with the class count its labels expect', async () => {
      const expectedClasses: Record<string, number> = { model5_gw_ae: 3, model11_gw_ae: 3, model18cls: 18, model30chan18cls: 18, model30chan50cls: 50, model21_104class: 104 };
      for (const name of readdirSync(brainchop).filter((d) => d.startsWith('model'))) {
        const model = load(join(brainchop, name));
        const got = await runOnnx(model, testVolume([6, 6, 6]), [6, 6, 6]);
        expect(got.dims[1], name).toBe(expectedClasses[name]);
      }
    }, 300_000);
  });
});
