/**
 * A tree of plain objects, arrays, numbers, strings, booleans and typed arrays as a JSON
 * skeleton plus one byte block: what a framed file (framed-file.ts) stores when the tree is
 * mostly large typed arrays (the prepared registration template). Each typed array becomes
 * `{ "$typed": "<constructor>", "offset": bytes into the block, "length": elements }`, its
 * bytes FRAME_ALIGN-aligned in the block; joining gives each array a buffer of its own, as
 * the code that built the tree did.
 */
import { alignUp } from './framed-file';

const TYPED = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
} as const;
type TypedName = keyof typeof TYPED;
type TypedArray = InstanceType<(typeof TYPED)[TypedName]>;

interface TypedRef {
  readonly $typed: TypedName;
  readonly offset: number;
  readonly length: number;
}

function typedName(value: ArrayBufferView): TypedName {
  const name = value.constructor.name;
  if (!(name in TYPED)) throw new Error(`typed tree: ${name} is not a supported array type`);
  return name as TypedName;
}

/** Splits `tree` into a JSON-able skeleton and the bytes of its typed arrays. */
export function splitTypedTree(tree: unknown): { readonly skeleton: unknown; readonly data: Uint8Array } {
  const arrays: TypedArray[] = [];
  let bytes = 0;
  const walk = (value: unknown, path: string): unknown => {
    if (ArrayBuffer.isView(value)) {
      const name = typedName(value);
      const ref: TypedRef = { $typed: name, offset: bytes, length: (value as TypedArray).length };
      arrays.push(value as TypedArray);
      bytes = alignUp(bytes + value.byteLength);
      return ref;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`typed tree: ${path} is ${value}, which JSON cannot hold`);
      return value;
    }
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map((v, n) => walk(v, `${path}[${n}]`));
    if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (v !== undefined) out[key] = walk(v, `${path}.${key}`);
      }
      return out;
    }
    throw new Error(`typed tree: ${path} is ${typeof value === 'object' ? value.constructor?.name : typeof value}, not a plain value`);
  };
  const skeleton = walk(tree, 'tree');
  const data = new Uint8Array(bytes);
  let at = 0;
  for (const a of arrays) {
    data.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at = alignUp(at + a.byteLength);
  }
  return { skeleton, data };
}

function isTypedRef(value: object): value is TypedRef {
  return '$typed' in value;
}

/** The tree `splitTypedTree` split: every typed array copied out of `data` into a buffer of its own. */
export function joinTypedTree(skeleton: unknown, data: Uint8Array): unknown {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    if (isTypedRef(value)) {
      const Ctor = TYPED[value.$typed];
      if (!Ctor) throw new Error(`typed tree: unknown array type ${value.$typed}`);
      const end = value.offset + value.length * Ctor.BYTES_PER_ELEMENT;
      if (!(value.offset >= 0 && end <= data.length)) throw new Error(`typed tree: a ${value.$typed} runs past the data (${end} > ${data.length} bytes)`);
      const start = data.byteOffset + value.offset;
      return new Ctor(data.buffer.slice(start, start + (end - value.offset)) as ArrayBuffer);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = walk(v);
    return out;
  };
  return walk(skeleton);
}
