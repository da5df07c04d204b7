import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareTemplate } from '../core/fullhead';
import { TEMPLATE_FILES } from '../core/fullhead/template';
import { readTemplate, templatesDir } from '../core/fullhead/template-node';
import { pathToFileURL } from 'node:url';
import { preparedTemplateCached } from './template-cache';
import { cliTemplateOnce } from './template-once';

describe('the prepared template cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seahorse-template-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = prepareTemplate(readTemplate());
  const cacheFiles = () => readdirSync(dir).filter((f) => f.startsWith('prepared-template-'));

  it('prepares and writes on the first run, reads the same template back on the next', async () => {
    const first = await preparedTemplateCached(dir);
    expect(first.fromCache).toBe(false);
    expect(cacheFiles()).toHaveLength(1);
    const second = await preparedTemplateCached(dir);
    expect(second.fromCache).toBe(true);
    // isDeepStrictEqual: vitest's toStrictEqual walks 42 MB of arrays element by element.
    expect(isDeepStrictEqual(second.prepared, fresh)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('prepares again over a damaged file', async () => {
    const [file] = cacheFiles();
    const bytes = readFileSync(join(dir, file));
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(join(dir, file), bytes);
    const again = await preparedTemplateCached(dir);
    expect(again.fromCache).toBe(false);
    expect(isDeepStrictEqual(again.prepared, fresh)).toBe(true);
    expect((await preparedTemplateCached(dir)).fromCache).toBe(true);
  });

  it('keys the file by the template files: other bytes, another file', async () => {
    const other = mkdtempSync(join(tmpdir(), 'seahorse-template-files-'));
    try {
      for (const name of Object.values(TEMPLATE_FILES)) copyFileSync(join(templatesDir, name), join(other, name));
      // The same voxels, compressed differently.
      const hippocampus = join(other, TEMPLATE_FILES.hippocampus);
      writeFileSync(hippocampus, gzipSync(gunzipSync(readFileSync(hippocampus)), { level: 1 }));
      expect((await preparedTemplateCached(dir, other)).fromCache).toBe(false);
      expect(cacheFiles()).toHaveLength(2);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("gives the CLI's other commands the bundle folder's cache, once per process; from source, a template prepared afresh", async () => {
    const bundle = mkdtempSync(join(tmpdir(), 'seahorse-bundle-'));
    const global = globalThis as { seahorseCliBundle?: string };
    try {
      global.seahorseCliBundle = pathToFileURL(join(bundle, 'main.mjs')).href;
      const template = cliTemplateOnce();
      const first = template();
      expect(template()).toBe(first);
      expect(isDeepStrictEqual(await first, fresh)).toBe(true);
      expect(readdirSync(bundle).filter((f) => f.startsWith('prepared-template-'))).toHaveLength(1);
      delete global.seahorseCliBundle;
      expect(isDeepStrictEqual(await cliTemplateOnce()(), fresh)).toBe(true);
      expect(readdirSync(bundle).filter((f) => f.startsWith('prepared-template-'))).toHaveLength(1);
    } finally {
      delete global.seahorseCliBundle;
      rmSync(bundle, { recursive: true, force: true });
    }
  });

  it('works without a cache it can write', async () => {
    const missing = join(dir, 'no', 'such', 'folder');
    const result = await preparedTemplateCached(missing);
    expect(result.fromCache).toBe(false);
    expect(isDeepStrictEqual(result.prepared, fresh)).toBe(true);
  });
});
