/**
 * The prepared registration template kept on disk between CLI runs: preparing it (pyramids,
 * brain masks, fixed points) costs ~0.2–0.5 s of CPU a run, reading it back ~0.1 s. Each file
 * is named by the SHA-256 of the three template files it was prepared from. It does not record
 * the code that prepared it, so the cache directory must go when the code changes: the CLI
 * keeps it in its bundle's folder, which every build replaces (scripts/build-cli.mjs).
 *
 * A framed file (src/core/io/framed-file.ts, magic "SEAHTMPL"), its data the template's typed
 * arrays (src/core/io/typed-tree.ts). A cache file that cannot be read is prepared again and
 * rewritten; one that cannot be written costs nothing but the saving.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareTemplate, type PreparedTemplate } from '../core/fullhead';
import { TEMPLATE_FILES, type TemplateBytes } from '../core/fullhead/template';
import { parseTemplateNode, readTemplateBytes, templatesDir } from '../core/fullhead/template-node';
import { decodeFrame, encodeFrame, type FrameKind } from '../core/io/framed-file';
import { joinTypedTree, splitTypedTree } from '../core/io/typed-tree';

const FRAME: FrameKind = {
  magic: 'SEAHTMPL',
  version: 1,
  noun: 'a prepared Seahorse template',
  formatName: 'prepared-template format',
  maxHeaderBytes: 1 << 20,
  fail: (message) => {
    throw new Error(message);
  },
};

interface CacheHeader {
  readonly format: 'seahorse-prepared-template';
  readonly templateSha256: string;
  readonly skeleton: unknown;
}

/** SHA-256 of the template files, in TEMPLATE_FILES' order, each after its length. */
function templateDigest(bytes: TemplateBytes): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(TEMPLATE_FILES) as (keyof TemplateBytes)[]) {
    hash.update(`${key}:${bytes[key].length}:`);
    hash.update(bytes[key]);
  }
  return hash.digest('hex');
}

/** The cache file for template files of this digest. */
function cachePath(cacheDir: string, digest: string): string {
  return join(cacheDir, `prepared-template-${digest.slice(0, 16)}.bin`);
}

async function readCached(path: string, digest: string): Promise<PreparedTemplate | null> {
  if (!existsSync(path)) return null;
  try {
    const { header, data } = await decodeFrame(new Uint8Array(readFileSync(path)), FRAME, path);
    const h = header as CacheHeader;
    if (h.format !== 'seahorse-prepared-template' || h.templateSha256 !== digest) return null;
    return joinTypedTree(h.skeleton, data) as PreparedTemplate;
  } catch {
    return null;
  }
}

async function writeCached(path: string, digest: string, prepared: PreparedTemplate): Promise<void> {
  const { skeleton, data } = splitTypedTree(prepared);
  const header: CacheHeader = { format: 'seahorse-prepared-template', templateSha256: digest, skeleton };
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, await encodeFrame(FRAME, header, data));
    // Whole or not at all: a reader never sees a half-written file.
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/**
 * The shipped template (or the one in `dir`), prepared: read from `cacheDir` when it holds it,
 * otherwise prepared and written there. `fromCache` says which.
 */
export async function preparedTemplateCached(cacheDir: string, dir = templatesDir): Promise<{ prepared: PreparedTemplate; fromCache: boolean }> {
  const bytes = readTemplateBytes(dir);
  const digest = templateDigest(bytes);
  const path = cachePath(cacheDir, digest);
  const cached = await readCached(path, digest);
  if (cached) return { prepared: cached, fromCache: true };
  const prepared = prepareTemplate(parseTemplateNode(bytes));
  await writeCached(path, digest, prepared);
  return { prepared, fromCache: false };
}
