/**
 * The SAM service's encodes ahead of a prompt (`sam-prepare`), scheduled: one at a time, a newer
 * request replacing one still waiting. The runtime here is a stand-in whose encoder finishes when
 * the test says, so the order can be seen; the real model's encode ahead, followed by a prompt on
 * the same slice that needs no encoding, is in sam-service.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { identity4, type Volume } from '../core/volume';
import type { SamRuntime } from '../sam/runtime';
import type { SamReply } from './sam-protocol';
import { SamService } from './sam-service';

const N = 16;
const scan: Volume = { dims: [N, N, N], spacing: [1, 1, 1], affine: identity4(), data: Float32Array.from({ length: N ** 3 }, (_, p) => p % 7) };

function harness() {
  const replies: SamReply[] = [];
  const encodes: { finish: () => void }[] = [];
  const runtime: SamRuntime = {
    name: 'wasm',
    reason: 'a stand-in encoder the test finishes',
    encode: () => new Promise((resolve) => encodes.push({ finish: () => resolve(new Float32Array(4)) })),
    decode: () => Promise.reject(new Error('not used here')),
    dispose: async () => {},
  };
  const service = new SamService({ post: (r) => replies.push(r), scan: () => scan, createRuntime: async () => runtime });
  const prepare = (request: number, y: number) => service.handle({ type: 'sam-prepare', request, plane: 'coronal', mm: [3, y, 5], backend: 'wasm' });
  const settled = () => new Promise((r) => setTimeout(r, 0));
  return { replies, encodes, prepare, settled };
}

describe('SamService, slices encoded ahead of a prompt', () => {
  it('encodes one slice at a time; a newer request replaces one waiting, which is answered with no slice', async () => {
    const h = harness();
    const first = h.prepare(1, 4);
    await h.settled();
    expect(h.encodes).toHaveLength(1);
    void h.prepare(2, 6); // waits behind the first
    void h.prepare(3, 9); // replaces it: the crosshair moved on
    await h.settled();
    expect(h.replies).toEqual([{ type: 'sam-prepared', request: 2, plane: 'coronal', slice: null, encodeMs: 0 }]);
    expect(h.encodes).toHaveLength(1);
    h.encodes[0].finish();
    await h.settled();
    expect(h.encodes).toHaveLength(2); // the newest request's slice, only now
    h.encodes[1].finish();
    await first;
    expect(h.replies.slice(1)).toEqual([
      { type: 'sam-prepared', request: 1, plane: 'coronal', slice: 4, encodeMs: expect.any(Number) },
      { type: 'sam-prepared', request: 3, plane: 'coronal', slice: 9, encodeMs: expect.any(Number) },
    ]);
  });

  it('answers a slice already encoded at once, with no encode; a point outside the scan fails in words', async () => {
    const h = harness();
    const first = h.prepare(1, 4);
    await h.settled();
    h.encodes[0].finish();
    await first;
    await h.prepare(2, 4);
    expect(h.encodes).toHaveLength(1);
    expect(h.replies.at(-1)).toEqual({ type: 'sam-prepared', request: 2, plane: 'coronal', slice: 4, encodeMs: 0 });
    await h.prepare(3, 40);
    expect(h.replies.at(-1)).toMatchObject({ type: 'sam-failed', request: 3, message: expect.stringMatching(/outside the scan/) });
    // The service is still usable after the failure.
    const after = h.prepare(4, 5);
    await h.settled();
    h.encodes[1].finish();
    await after;
    expect(h.replies.at(-1)).toMatchObject({ type: 'sam-prepared', request: 4, slice: 5 });
  });
});
