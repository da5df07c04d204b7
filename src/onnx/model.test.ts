import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, hasShared, sharedMissing } from '../testing/shared';
import {
  decodeModel,
  describeModel,
  externalLocations,
  getInitializer,
  inlineExternalData,
  inlineModel,
  modelInputSize,
  prepareForWeb,
  serializeModel,
} from './index';

const read = (fixture: string, file: string) => new Uint8Array(readFileSync(join(fixturesDir, fixture, file)));

/** Bitwise equality of two typed arrays (vitest's deep equality is slow on megabytes). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('decodeModel', () => {
  it('rejects bytes that are not an ONNX model', () => {
    expect(() => decodeModel(new TextEncoder().encode('hello, not a model'))).toThrow(/ONNX/);
    expect(() => decodeModel(new Uint8Array(0))).toThrow(/no graph/);
  });
});

describe.skipIf(!hasShared)(`ONNX fixtures ${hasShared ? '' : sharedMissing}`, () => {
  for (const [fixture, size] of [
    ['unetr_tiny', 32],
    ['swinunetr_tiny', 64],
  ] as const) {
    it(`${fixture}: describes inputs, outputs and initializers as onnx_info.json records them`, () => {
      const info = JSON.parse(readFileSync(join(fixturesDir, fixture, 'onnx_info.json'), 'utf8'));
      const model = decodeModel(read(fixture, 'model.onnx'));
      const d = describeModel(model);
      expect(d.inputs).toEqual([{ name: 'image', dims: [1, 1, size, size, size], dtype: 'FLOAT' }]);
      expect(d.outputs.map((o) => o.name)).toEqual(['logits']);
      expect(d.opset).toBe(17);
      expect(d.initializers.map((t) => t.name)).toEqual(info.initializer_names);
      expect(modelInputSize(model)).toEqual([size, size, size]);
      expect(externalLocations(model)).toEqual(['weights.bin']);
    });

    it(`${fixture}: getInitializer returns the MONAI weights stored in weights.bin`, () => {
      const index = JSON.parse(readFileSync(join(fixturesDir, fixture, 'weights.json'), 'utf8'));
      const weights = read(fixture, 'weights.bin');
      const model = decodeModel(read(fixture, 'model.onnx'));
      inlineExternalData(model, new Map([['weights.bin', weights]]));
      const names = describeModel(model).initializers.filter((t) => t.dtype === 'FLOAT').map((t) => t.name);
      expect(names.length).toBeGreaterThan(100);
      for (const name of names) {
        const e = index.tensors[name];
        const expected = new Float32Array(weights.buffer, weights.byteOffset + e.offset, e.nbytes / 4);
        expect(sameBytes(getInitializer(model, name), expected), name).toBe(true);
      }
      expect(() => getInitializer(model, 'no.such.weight')).toThrow(/no initializer named "no.such.weight"/);
    });
  }

  it('getInitializer refuses weights that are still external', () => {
    const model = decodeModel(read('unetr_tiny', 'model.onnx'));
    expect(() => getInitializer(model, 'out.conv.conv.bias')).toThrow(/external file/);
  });

  it('inlining names a missing or wrong weights file', () => {
    const model = decodeModel(read('unetr_tiny', 'model.onnx'));
    expect(() => inlineExternalData(model, new Map())).toThrow(/"weights.bin", which was not provided/);
    expect(() => inlineExternalData(model, new Map([['weights.bin', new Uint8Array(100)]]))).toThrow(/too short/);
  });

  it('prepareForWeb and inlineModel give self-contained models', () => {
    const files = new Map([['./weights.bin', read('unetr_tiny', 'weights.bin')]]);
    const onnxBytes = read('unetr_tiny', 'model.onnx');
    const web = decodeModel(prepareForWeb(onnxBytes, files));
    expect(externalLocations(web)).toEqual([]);
    expect(web.graph!.node!.some((n) => n.opType === 'ConvTranspose')).toBe(false);
    const plain = decodeModel(inlineModel(onnxBytes, files));
    expect(externalLocations(plain)).toEqual([]);
    expect(plain.graph!.node!.filter((n) => n.opType === 'ConvTranspose')).toHaveLength(10);
    // Serialising an already self-contained model round-trips.
    const bytes = serializeModel(plain);
    expect(sameBytes(serializeModel(decodeModel(bytes)), bytes)).toBe(true);
    // A self-contained model without ConvTranspose (the shipped ones) is passed on as it came;
    // one with it is rewritten.
    const ready = serializeModel(web);
    expect(prepareForWeb(ready)).toBe(ready);
    expect(prepareForWeb(bytes)).not.toBe(bytes);
  });
});
