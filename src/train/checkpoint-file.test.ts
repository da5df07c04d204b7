/**
 * The training checkpoint file: a round trip keeps every value bit for bit in its own
 * precision (float64 moments stay float64), and damaged, truncated, foreign or newer files are
 * refused with a message that says which. `runMismatch` names each setting that differs.
 */
import { describe, expect, it } from 'vitest';
import type { AdamState } from '../engine';
import { CHECKPOINT_VERSION, CheckpointFileError, decodeCheckpoint, encodeCheckpoint, runMismatch, type TrainingCheckpoint } from './checkpoint-file';

const adapter = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) % 256);
const optimizer: AdamState = {
  t: 7,
  slots: [
    { shape: [2, 3], m: Float32Array.from([1, -2, 3.5, 1e-30, 0, -0]), v: Float32Array.from([1, 2, 3, 4, 5, 6]), vmax: Float32Array.from([6, 5, 4, 3, 2, 1]) },
    null,
    // 0.1 and 1/3 are not float32 values: they must come back as they were.
    { shape: [3], m: Float64Array.from([0.1, 1 / 3, -1e-300]), v: Float64Array.from([2, 0.2, 1e300]), vmax: null },
  ],
};
const checkpoint: TrainingCheckpoint = {
  step: 7,
  run: { '--lr': 1e-4, 'training scans': ['a.nii.gz', 'b.nii.gz'] },
  adapter,
  optimizer,
  sampler: 123456789,
  losses: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],
  extra: { engine: 'wasm', validationBefore: { loss: 0.5, dice: 0.7 } },
};

describe('training checkpoint file', () => {
  it('round-trips every field; moments keep their precision and values bit for bit', async () => {
    const back = await decodeCheckpoint(await encodeCheckpoint(checkpoint));
    expect(back.step).toBe(7);
    expect(back.run).toEqual(checkpoint.run);
    expect(back.adapter).toEqual(adapter);
    expect(back.sampler).toBe(123456789);
    expect(back.losses).toEqual(checkpoint.losses);
    expect(back.extra).toEqual(checkpoint.extra);
    expect(back.optimizer.t).toBe(7);
    const [a, none, b] = back.optimizer.slots;
    expect(none).toBeNull();
    expect(a!.m).toBeInstanceOf(Float32Array);
    expect(a!.shape).toEqual([2, 3]);
    expect([...a!.m].map((x) => Object.is(x, -0) ? '-0' : x)).toEqual([1, -2, 3.5, Math.fround(1e-30), 0, '-0']);
    expect(a!.vmax).toEqual(optimizer.slots[0]!.vmax);
    expect(b!.m).toBeInstanceOf(Float64Array);
    expect(b!.m).toEqual(optimizer.slots[2]!.m);
    expect(b!.v).toEqual(optimizer.slots[2]!.v);
    expect(b!.vmax).toBeNull();
  });

  it('a run without a sampler (engine models) has none after the round trip', async () => {
    const { sampler: _s, extra: _e, ...rest } = checkpoint;
    const back = await decodeCheckpoint(await encodeCheckpoint(rest));
    expect(back.sampler).toBeUndefined();
    expect(back.extra).toBeUndefined();
  });

  it('refuses a changed byte, a truncated file, another kind of file and a newer format, saying which', async () => {
    const bytes = await encodeCheckpoint(checkpoint);
    const label = 'checkpoint file run.checkpoint';
    const flipped = bytes.slice();
    flipped[bytes.length - 5] ^= 0x10;
    await expect(decodeCheckpoint(flipped, label)).rejects.toThrow(`${label} is corrupted or truncated: its contents do not match their SHA-256 checksum`);
    await expect(decodeCheckpoint(bytes.subarray(0, bytes.length - 64), label)).rejects.toThrow(/is corrupted or truncated/);
    await expect(decodeCheckpoint(bytes.subarray(0, 60), label)).rejects.toThrow(/is truncated or corrupted \(its header claims \d+ bytes; the file has 60\)/);
    await expect(decodeCheckpoint(bytes.subarray(0, 20), label)).rejects.toThrow(`${label} is not a Seahorse training checkpoint (only 20 bytes)`);
    const foreign = bytes.slice();
    foreign.set(new TextEncoder().encode('SEAHADPT'), 0);
    await expect(decodeCheckpoint(foreign, label)).rejects.toThrow(`${label} is not a Seahorse training checkpoint (it does not start with "SEAHCKPT")`);
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint32(8, CHECKPOINT_VERSION + 1, true);
    await expect(decodeCheckpoint(newer, label)).rejects.toThrow(/was written by a newer Seahorse/);
    await expect(decodeCheckpoint(flipped, label)).rejects.toBeInstanceOf(CheckpointFileError);
  });
});

describe('runMismatch', () => {
  it('names each setting that differs, one side missing counts, arrays compare by value', () => {
    const saved = { '--lr': 1e-4, '--rank': 2, 'training scans': ['a', 'b'] };
    expect(runMismatch(saved, { '--lr': 1e-4, '--rank': 2, 'training scans': ['a', 'b'] })).toEqual([]);
    expect(runMismatch(saved, { '--lr': 1e-3, 'training scans': ['a', 'c'] })).toEqual([
      '--lr: 0.001 now, 0.0001 in the checkpoint',
      '--rank: not set now, 2 in the checkpoint',
      'training scans: ["a","c"] now, ["a","b"] in the checkpoint',
    ]);
  });
});
