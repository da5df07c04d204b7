import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { UNETR } from '../models/unetr';
import { FIXTURE_CONFIGS, fixtureWeights } from '../models/testing/fixtures';
import { hasShared, sharedMissing } from '../testing/shared';
import { FLOAT16_EPSILON, float16BitsToFloat32, float32ToFloat16Bits } from '../core/io/float16';
import type { HostTensor } from './adapted-model';
import { ADAPTER_VERSION, checkBase, decodeAdapter, encodeAdapter, type Adapter } from './adapter-file';
import { AdapterFileError, BaseModelMismatchError } from './errors';
import { fingerprintModel, fingerprintSource, fingerprintTensors } from './fingerprint';

const FP = 'ab'.repeat(32);

function sampleAdapter(): Adapter {
  const t = (shape: number[], f: (i: number) => number): HostTensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => f(i)) });
  return {
    method: { method: 'lorapt', ranks: { W_up: 1, W_sa: 2, W_down: 1 }, trainDecoder: true },
    base: { kind: 'unetr', config: { hiddenSize: 64 }, fingerprint: FP, label: 'unetr-tiny-test' },
    training: { steps: 20, lr: 1e-3, losses: [2.4, 2.1] },
    trained: new Map([
      ['W_sa.Ur', t([48, 64, 2], (i) => Math.sin(i))],
      ['decoder2.conv_block.conv1.conv.weight', t([8, 16, 3, 3, 3], (i) => i / 7)],
    ]),
    init: new Map([['W_sa.Ur', t([48, 64, 2], (i) => Math.cos(i))]]),
  };
}

describe('adapter file', () => {
  it('round-trips every field and tensor bit-exactly', async () => {
    const a = sampleAdapter();
    const bytes = await encodeAdapter(a);
    const b = await decodeAdapter(bytes);
    expect(b.method).toEqual(a.method);
    expect(b.base).toEqual(a.base);
    expect(b.training).toEqual(a.training);
    for (const role of ['trained', 'init'] as const) {
      expect([...b[role].keys()]).toEqual([...a[role].keys()]);
      for (const [n, t] of a[role]) {
        expect(b[role].get(n)!.shape).toEqual(t.shape);
        expect(b[role].get(n)!.data).toEqual(t.data);
      }
    }
    // Small: header + float32 data, nothing else (each tensor 64-byte aligned).
    expect(bytes.length).toBeLessThan(4 * (48 * 64 * 2 * 2 + 8 * 16 * 27) + 2048);
  });

  it('refuses files that are not adapters, truncated, corrupted or from a newer version', async () => {
    const good = await encodeAdapter(sampleAdapter());
    await expect(decodeAdapter(new TextEncoder().encode('{"not": "an adapter"}'), 'x.json')).rejects.toThrow(/x.json is not a Seahorse adapter/);
    await expect(decodeAdapter(good.subarray(0, 10))).rejects.toThrow(/not a Seahorse adapter \(only 10 bytes\)/);
    await expect(decodeAdapter(good.subarray(0, good.length - 100))).rejects.toThrow(/truncated/);
    // One flipped bit anywhere after the preamble: in the tensor data, or in the JSON header (a rank digit).
    const flipped = good.slice();
    flipped[flipped.length - 5] ^= 0x40;
    await expect(decodeAdapter(flipped)).rejects.toThrow(/do not match their SHA-256 checksum/);
    const header = good.slice();
    const at = new TextDecoder().decode(header).indexOf('"W_sa":2');
    header[at + 7] = '3'.charCodeAt(0);
    await expect(decodeAdapter(header)).rejects.toThrow(AdapterFileError);
    const newer = good.slice();
    new DataView(newer.buffer).setUint32(8, ADAPTER_VERSION + 1, true);
    await expect(decodeAdapter(newer)).rejects.toThrow(/written by a newer Seahorse/);
  });

  it('stores float16 tensors at half the size, within half a float16 step, as format version 2', async () => {
    const a = sampleAdapter();
    const f32 = await encodeAdapter(a);
    const f16 = await encodeAdapter(a, { dtype: 'float16' });
    expect(new DataView(f32.buffer).getUint32(8, true)).toBe(1); // float32 files stay readable by older versions
    expect(new DataView(f16.buffer).getUint32(8, true)).toBe(ADAPTER_VERSION);
    expect(f16.length).toBeLessThan(f32.length * 0.55);
    const b = await decodeAdapter(f16);
    for (const role of ['trained', 'init'] as const) {
      for (const [n, t] of a[role]) {
        const got = b[role].get(n)!;
        expect(got.shape).toEqual(t.shape);
        for (let i = 0; i < t.data.length; i++) {
          expect(got.data[i]).toBe(float16BitsToFloat32(float32ToFloat16Bits(t.data[i])));
          expect(Math.abs(got.data[i] - t.data[i])).toBeLessThanOrEqual(Math.max((FLOAT16_EPSILON / 2) * Math.abs(t.data[i]), 2 ** -25));
        }
      }
    }
    const big = sampleAdapter();
    big.trained.get('W_sa.Ur')!.data[3] = 70000;
    await expect(encodeAdapter(big, { dtype: 'float16' })).rejects.toThrow(/"W_sa.Ur" holds 70000 at element 3, beyond float16's ±65504/);
    await expect(encodeAdapter(big)).resolves.toBeInstanceOf(Uint8Array);
  });

  it('refuses a method this version does not know', async () => {
    const a = { ...sampleAdapter(), method: { method: 'dora', rank: 2 } as never };
    await expect(decodeAdapter(await encodeAdapter(a))).rejects.toThrow(/cannot be used by this version of Seahorse: unknown fine-tuning method "dora"/);
    const b = { ...sampleAdapter(), method: { method: 'lorapt', ranks: { W_up: 1, W_sa: 0, W_down: 1 }, trainDecoder: true } as never };
    await expect(decodeAdapter(await encodeAdapter(b))).rejects.toThrow(/"ranks" must give a positive integer/);
  });

  it('never saves non-finite values', async () => {
    const a = sampleAdapter();
    a.trained.get('W_sa.Ur')!.data[7] = Number.NaN;
    await expect(encodeAdapter(a)).rejects.toThrow(/"W_sa.Ur" holds a non-finite value at element 7/);
  });

  it('checks the base model', () => {
    const a = sampleAdapter();
    expect(() => checkBase(a, 'unetr', FP)).not.toThrow();
    expect(() => checkBase(a, 'unetr', 'cd'.repeat(32), 'model.onnx')).toThrow(BaseModelMismatchError);
    expect(() => checkBase(a, 'swinunetr', FP)).toThrow(/trained on a different base model \(unetr "unetr-tiny-test"/);
  });
});

describe('base-model fingerprint', () => {
  it('depends on names, shapes and values', async () => {
    const e = { name: 'w', shape: [2, 2], data: [1, 2, 3, 4] };
    const fp = await fingerprintTensors([e]);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprintTensors([{ ...e }])).toBe(fp);
    expect(await fingerprintTensors([{ ...e, name: 'v' }])).not.toBe(fp);
    expect(await fingerprintTensors([{ ...e, shape: [4, 1] }])).not.toBe(fp);
    expect(await fingerprintTensors([{ ...e, data: [1, 2, 3, 4.000001] }])).not.toBe(fp);
  });

  it.skipIf(!hasShared)(`is the same from the weight files and from a loaded float64 model${hasShared ? '' : ` (${sharedMissing})`}`, async () => {
    const engine = createCpuEngine();
    const model = UNETR.load(engine, FIXTURE_CONFIGS.unetr_tiny, fixtureWeights('unetr_tiny'));
    expect(await fingerprintModel(model)).toBe(await fingerprintSource(fixtureWeights('unetr_tiny'), model.paramSpecs, 'UNETR'));
    model.dispose();
    engine.dispose();
  });
});
