import { describe, expect, it } from 'vitest';
import { FRAME_ALIGN } from './framed-file';
import { joinTypedTree, splitTypedTree } from './typed-tree';

describe('typed tree', () => {
  const tree = {
    name: 'level',
    dims: [3, 2, 1],
    scale: -0.5,
    flags: [true, false, null],
    data: Float32Array.from([1.5, -2, 3.25]),
    // A view into a larger buffer: only its own elements travel.
    index: new Int32Array(Int32Array.from([9, 8, 7, 6]).buffer, 4, 2),
    nested: { affine: Float64Array.from([1, 0, 0, -90]), mask: Uint8Array.from([0, 255, 1]), empty: new Uint16Array(0) },
    list: [Int8Array.from([-1, 2]), { points: Uint32Array.from([4_000_000_000]) }, Int16Array.from([-300])],
  };

  it('gives back the same tree, each array with a buffer of its own', () => {
    const { skeleton, data } = splitTypedTree(tree);
    const back = joinTypedTree(JSON.parse(JSON.stringify(skeleton)), data) as typeof tree;
    expect(back).toStrictEqual(tree);
    expect(Array.from(back.index)).toEqual([8, 7]);
    expect(back.data.buffer.byteLength).toBe(back.data.byteLength);
    expect(back.data.buffer).not.toBe(back.nested.affine.buffer);
  });

  it('aligns every array in the data block', () => {
    const { skeleton, data } = splitTypedTree(tree);
    const refs = JSON.stringify(skeleton).match(/"offset":\d+/g)!.map((m) => Number(m.split(':')[1]));
    expect(refs.length).toBe(8);
    for (const offset of refs) expect(offset % FRAME_ALIGN).toBe(0);
    expect(data.length % FRAME_ALIGN).toBe(0);
  });

  it('reads from a data block that starts anywhere in its buffer', () => {
    const { skeleton, data } = splitTypedTree(tree);
    const shifted = new Uint8Array(data.length + 3);
    shifted.set(data, 3);
    expect(joinTypedTree(skeleton, shifted.subarray(3))).toStrictEqual(tree);
  });

  it('drops undefined properties, as JSON does', () => {
    const { skeleton, data } = splitTypedTree({ a: 1, b: undefined });
    expect(joinTypedTree(skeleton, data)).toStrictEqual({ a: 1 });
  });

  it('refuses what JSON or the block cannot hold', () => {
    expect(() => splitTypedTree({ x: { y: NaN } })).toThrow('tree.x.y is NaN');
    expect(() => splitTypedTree({ m: new Map() })).toThrow('tree.m is Map, not a plain value');
    expect(() => splitTypedTree([new BigInt64Array(1)])).toThrow('BigInt64Array is not a supported array type');
    expect(() => splitTypedTree({ f: () => 0 })).toThrow('tree.f is function');
  });

  it('refuses a skeleton that points past its data', () => {
    const { skeleton, data } = splitTypedTree({ a: new Float64Array(8) });
    expect(() => joinTypedTree(skeleton, data.subarray(0, 32))).toThrow('runs past the data');
    expect(() => joinTypedTree({ a: { $typed: 'Float16Array', offset: 0, length: 1 } }, data)).toThrow('unknown array type Float16Array');
  });
});
