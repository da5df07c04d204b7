import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { fixturesDir, hasShared, sharedMissing } from '../testing/shared';
import { convTransposeWeightsAsConv1x1, rewriteConvTranspose } from './convtranspose';
import { inlineExternalData } from './external-data';
import { decodeModel, DataType, graphOf, nodesOf, onnx, serializeModel, type ModelProto } from './proto';

/** Deterministic values in [−1, 1) (a 32-bit LCG), so failures reproduce. */
function pseudoRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function floatInit(name: string, dims: number[], values: Float32Array) {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer) });
}

function tensorType(dims: number[]) {
  return { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } };
}

interface SyntheticSpec {
  readonly n: number;
  readonly ci: number;
  readonly co: number;
  readonly spatial: readonly number[];
  readonly bias: boolean;
  readonly pads?: number[];
}

/** One ConvTranspose (kernel 2, stride 2) from X to Y, weights as initializers. */
function syntheticModel(spec: SyntheticSpec): { model: ModelProto; inputDims: number[] } {
  const rank = spec.spatial.length;
  const inputDims = [spec.n, spec.ci, ...spec.spatial];
  const kernel = Array(rank).fill(2);
  const w = pseudoRandom(spec.ci * spec.co * 2 ** rank, 7);
  const initializer = [floatInit('W', [spec.ci, spec.co, ...kernel], w)];
  const inputs = ['X', 'W'];
  if (spec.bias) {
    initializer.push(floatInit('B', [spec.co], pseudoRandom(spec.co, 11)));
    inputs.push('B');
  }
  const attribute = [
    { name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: kernel },
    { name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: kernel },
    { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: spec.pads ?? Array(2 * rank).fill(0) },
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'seahorse-test',
    graph: {
      name: 'convtranspose',
      node: [{ opType: 'ConvTranspose', name: 'up', input: inputs, output: ['Y'], attribute }],
      initializer,
      input: [{ name: 'X', type: tensorType(inputDims) }],
      output: [{ name: 'Y', type: { tensorType: { elemType: DataType.FLOAT } } }],
    },
  });
  // Round-trip through bytes so the model looks exactly like a decoded file.
  return { model: decodeModel(serializeModel(model)), inputDims };
}

async function runOnnx(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const opTypes = (m: ModelProto) => nodesOf(graphOf(m)).map((n) => n.opType);

// Tolerance: the rewrite changes only the order of float32 sums per output voxel
// (one term each here, Ci terms summed by a different kernel), so results agree to a
// few ulps of values of magnitude ≲ 10; 1e-5 is the bound the project asks for.
const PARITY = 1e-5;

describe('weight reordering', () => {
  it('puts W[i, o, a, b, c] at output channel o·8 + 4a + 2b + c', () => {
    const ci = 2;
    const co = 3;
    const w = Float32Array.from({ length: ci * co * 8 }, (_, n) => n);
    const w2 = convTransposeWeightsAsConv1x1(w, ci, co);
    for (let i = 0; i < ci; i++)
      for (let o = 0; o < co; o++)
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++)
            for (let c = 0; c < 2; c++) {
              const tap = 4 * a + 2 * b + c;
              expect(w2[(o * 8 + tap) * ci + i]).toBe(w[(((i * co + o) * 2 + a) * 2 + b) * 2 + c]);
            }
  });
});

describe('ConvTranspose rewrite on synthetic graphs (onnxruntime-node CPU)', () => {
  for (const spec of [
    { n: 1, ci: 3, co: 5, spatial: [3, 5, 7], bias: true },
    { n: 2, ci: 4, co: 1, spatial: [1, 6, 5], bias: false },
  ]) {
    it(`matches the original for N=${spec.n} Ci=${spec.ci} Co=${spec.co} ${spec.spatial.join('×')} bias=${spec.bias}`, async () => {
      const { model, inputDims } = syntheticModel(spec);
      const original = serializeModel(model);
      const report = rewriteConvTranspose(model);
      expect(report).toEqual({ rewritten: 1, skipped: [] });
      expect(opTypes(model)).not.toContain('ConvTranspose');
      const x = pseudoRandom(inputDims.reduce((a, b) => a * b), 3);
      const feeds = { X: new ort.Tensor('float32', x, inputDims) };
      const expected = await runOnnx(original, feeds);
      const actual = await runOnnx(serializeModel(model), feeds);
      expect(expected.length).toBe(x.length / spec.ci * spec.co * 8);
      expect(maxAbsDiff(actual, expected)).toBeLessThan(PARITY);
      // The replaced weights are gone; only the reordered ones remain.
      expect(graphOf(model).initializer.map((t) => t.name)).not.toContain('W');
    });
  }

  it('leaves padded and 2-D ConvTransposes alone and says why', () => {
    const padded = syntheticModel({ n: 1, ci: 2, co: 2, spatial: [4, 4, 4], bias: true, pads: [1, 1, 1, 1, 1, 1] }).model;
    expect(rewriteConvTranspose(padded)).toEqual({ rewritten: 0, skipped: [{ node: 'up', reason: 'it is padded' }] });
    expect(opTypes(padded)).toEqual(['ConvTranspose']);
    const flat = syntheticModel({ n: 1, ci: 2, co: 2, spatial: [4, 4], bias: true }).model;
    expect(rewriteConvTranspose(flat).skipped).toEqual([{ node: 'up', reason: 'it is not 3-D' }]);
  });
});

describe.skipIf(!hasShared)(`ConvTranspose rewrite on the MONAI fixtures ${hasShared ? '' : sharedMissing}`, () => {
  for (const [fixture, count] of [
    ['unetr_tiny', 10],
    ['swinunetr_tiny', 5],
  ] as const) {
    it(`${fixture}: no ConvTranspose left, logits equal the original's`, async () => {
      const dir = join(fixturesDir, fixture);
      const io = JSON.parse(readFileSync(join(dir, 'io.json'), 'utf8'));
      const model = decodeModel(readFileSync(join(dir, 'model.onnx')));
      inlineExternalData(model, new Map([['weights.bin', new Uint8Array(readFileSync(join(dir, 'weights.bin')))]]));
      const inlined = serializeModel(model);
      expect(rewriteConvTranspose(model)).toEqual({ rewritten: count, skipped: [] });
      expect(opTypes(model)).not.toContain('ConvTranspose');
      const input = new Float32Array(new Uint8Array(readFileSync(join(dir, 'input.bin'))).buffer);
      const feeds = { image: new ort.Tensor('float32', input, io.input.shape) };
      const before = await runOnnx(inlined, feeds);
      const after = await runOnnx(serializeModel(model), feeds);
      expect(maxAbsDiff(after, before)).toBeLessThan(PARITY);
      // And both match the float64 reference within the fixture's own ORT-CPU error (README §5: ≤ 3.6e-5).
      const reference = new Float32Array(new Uint8Array(readFileSync(join(dir, 'logits.bin'))).buffer);
      expect(maxAbsDiff(after, reference)).toBeLessThan(1e-4);
    });
  }
});
