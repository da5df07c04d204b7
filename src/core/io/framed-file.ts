/**
 * Seahorse's own binary container, shared by adapter files (src/peft/adapter-file.ts) and training
 * checkpoints (src/train/checkpoint-file.ts): a magic, a format version, a JSON header and a data
 * section, with a SHA-256 over everything after the preamble so that a truncated or damaged file
 * is refused rather than half-read.
 *
 * Layout (integers little-endian):
 *   0   8 bytes   magic
 *   8   u32       format version
 *   12  u32       header length H
 *   16  32 bytes  SHA-256 of everything after the preamble (header, padding, data)
 *   48  H bytes   UTF-8 JSON header
 *   …   zero padding to a multiple of FRAME_ALIGN
 *   data (its own offsets are relative to its start, which is FRAME_ALIGN-aligned)
 */

/** Data start alignment, bytes (and what the callers align their arrays to inside the data). */
export const FRAME_ALIGN = 64;
const PREAMBLE = 48;
const DIGEST_AT = 16;

export const alignUp = (n: number): number => Math.ceil(n / FRAME_ALIGN) * FRAME_ALIGN;

/** One kind of framed file, in the words its errors use. */
export interface FrameKind {
  /** 8 ASCII characters. */
  readonly magic: string;
  /** The newest format version this code writes and reads. */
  readonly version: number;
  /** "a Seahorse adapter": what a file of another kind is not. */
  readonly noun: string;
  /** "adapter format": what a newer file's version is called. */
  readonly formatName: string;
  /** A header larger than this is not one we wrote (guards against reading garbage lengths). */
  readonly maxHeaderBytes: number;
  /** Throws the kind's own error class with a message. */
  readonly fail: (message: string) => never;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes.slice() as Uint8Array<ArrayBuffer>));
}

export async function encodeFrame(kind: FrameKind, header: unknown, data: Uint8Array): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = alignUp(PREAMBLE + json.length);
  const out = new Uint8Array(dataStart + data.length);
  out.set(new TextEncoder().encode(kind.magic), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, kind.version, true);
  view.setUint32(12, json.length, true);
  out.set(json, PREAMBLE);
  out.set(data, dataStart);
  out.set(await sha256(out.subarray(PREAMBLE)), DIGEST_AT);
  return out;
}

/**
 * Checks the magic, version, header length and SHA-256, and parses the header: a view of the
 * data section comes back with it. The header's own fields are the caller's to check.
 */
export async function decodeFrame(bytes: Uint8Array, kind: FrameKind, label: string): Promise<{ readonly version: number; readonly header: unknown; readonly data: Uint8Array }> {
  const { fail } = kind;
  if (bytes.length < PREAMBLE) fail(`${label} is not ${kind.noun} (only ${bytes.length} bytes)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== kind.magic) fail(`${label} is not ${kind.noun} (it does not start with "${kind.magic}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > kind.version) fail(`${label} was written by a newer Seahorse (${kind.formatName} ${version}; this version reads up to ${kind.version})`);
  if (version < 1) fail(`${label} has an invalid format version ${version}`);
  const headerLength = view.getUint32(12, true);
  if (headerLength > kind.maxHeaderBytes || PREAMBLE + headerLength > bytes.length) fail(`${label} is truncated or corrupted (its header claims ${headerLength} bytes; the file has ${bytes.length})`);
  const digest = await sha256(bytes.subarray(PREAMBLE));
  if (digest.some((b, i) => b !== bytes[DIGEST_AT + i])) fail(`${label} is corrupted or truncated: its contents do not match their SHA-256 checksum`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, PREAMBLE + headerLength)));
  } catch (e) {
    fail(`${label} is corrupted: its header is not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  return { version, header, data: bytes.subarray(alignUp(PREAMBLE + headerLength)) };
}
