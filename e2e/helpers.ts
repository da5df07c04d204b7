/** Shared steps of the studio's end-to-end tests. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { expect, type Page } from '@playwright/test';
import { readVolume } from '../src/core/io';
import type { Volume } from '../src/core/volume';
import { msdDir } from '../src/testing/shared';

export const repoRoot = resolve(import.meta.dirname, '..');
/** The fixture model every studio test runs: tiny, so SwiftShader gets through it quickly. */
export const testModel = 'unetr-tiny-test';
/**
 * A real MSD hippocampus crop, 32 × 47 × 32 voxels: the smallest number of 32³ model windows
 * (two) among the crops, since a window takes seconds on SwiftShader's WebGPU.
 */
export const msdScan = join(msdDir, 'images', 'hippocampus_205.nii.gz');

export function scratchDir(name: string): string {
  const dir = join(tmpdir(), 'seahorse-e2e', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Opens the studio on the test model, optionally forcing a backend. */
export async function openStudio(page: Page, query: Record<string, string> = {}): Promise<void> {
  const params = new URLSearchParams({ model: testModel, ...query });
  await page.goto(`/?${params}`);
  await expect(page.getByRole('heading', { name: 'Seahorse' })).toBeVisible();
}

/** Picks a file through the studio's file input (the same path as a drop). */
export async function pickFile(page: Page, file: string | { name: string; buffer: Buffer }): Promise<void> {
  const input = page.getByTestId('file-input');
  if (typeof file === 'string') await input.setInputFiles(file);
  else await input.setInputFiles({ name: file.name, mimeType: 'application/octet-stream', buffer: file.buffer });
}

/** Drops a file on the page as a user would drag it in from the desktop. */
export async function dropFile(page: Page, file: string): Promise<void> {
  const base64 = readFileSync(file).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ([data, name]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name));
      return transfer;
    },
    [base64, basename(file)] as const,
  );
  await page.dispatchEvent('.viewer', 'dragenter', { dataTransfer });
  await expect(page.getByText('Drop to open')).toBeVisible();
  await page.dispatchEvent('.viewer', 'drop', { dataTransfer });
  await expect(page.getByText('Drop to open')).toHaveCount(0);
}

/**
 * Waits for a segmentation to finish and returns the backend the studio reports. SwiftShader
 * runs a 32³ window of the test model in seconds on an idle machine, minutes on a busy one.
 */
/**
 * Drags a box inside the top-left tile of the multiplanar grid (the coronal slice) as a user
 * draws one. The fractions fit the default 1360 × 820 viewport with the 32 × 47 × 32 MSD crop
 * open (its tiles start at 18 % of the canvas width).
 */
export async function dragBoxInCoronalTile(page: Page): Promise<void> {
  await dragBox(page, [0.22, 0.08], [0.38, 0.3]);
}

/** Drags with the primary button between two points given as fractions of the viewer canvas. */
export async function dragBox(page: Page, from: readonly [number, number], to: readonly [number, number]): Promise<void> {
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const at = (fx: number, fy: number) => [box.x + box.width * fx, box.y + box.height * fy] as const;
  await page.mouse.move(...at(from[0], from[1]));
  await page.mouse.down();
  for (let t = 1; t <= 6; t++) await page.mouse.move(...at(from[0] + ((to[0] - from[0]) * t) / 6, from[1] + ((to[1] - from[1]) * t) / 6));
  await page.mouse.up();
}

export async function waitForResult(page: Page): Promise<string> {
  await expect(page.getByTestId('volumes-table')).toBeVisible({ timeout: 600_000 });
  return (await page.getByTestId('backend-name').textContent()) ?? '';
}

/** Clicks Export and returns the saved file's path. */
export async function exportMask(page: Page, dir: string): Promise<string> {
  const download = page.waitForEvent('download');
  await page.getByTestId('export').click();
  const file = await download;
  const path = join(dir, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

/** The Node CLI's mask for the same input and model. */
export function cliMask(input: string, output: string): string {
  execFileSync(process.execPath, [join(repoRoot, 'bin/seahorse.mjs'), 'segment', input, '-o', output, '--model', testModel], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  return output;
}

export function readMask(path: string): Volume {
  return readVolume(new Uint8Array(readFileSync(path)), path);
}

/** A run as Chromium's IndexedDB holds it (the real browser storage, not the page's state); the adapter as its size. */
export interface StoredAdapter {
  readonly name: string;
  readonly status: string;
  readonly step: number;
  readonly losses: number[];
  readonly validation: { step: number; loss: number; dice: number }[];
  readonly adapterBytes: number;
}

/** Every stored adapter run, read from the studio's IndexedDB in the page. */
export async function storedAdapters(page: Page): Promise<StoredAdapter[]> {
  return page.evaluate(
    () =>
      new Promise<StoredAdapter[]>((resolve, reject) => {
        const open = indexedDB.open('seahorse-adapters');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('adapters').objectStore('adapters').getAll();
          get.onerror = () => reject(get.error);
          get.onsuccess = () =>
            resolve(
              (get.result as (Omit<StoredAdapter, 'adapterBytes'> & { adapter: Uint8Array })[]).map((r) => ({
                name: r.name,
                status: r.status,
                step: r.step,
                losses: r.losses,
                validation: r.validation,
                adapterBytes: r.adapter.byteLength,
              })),
            );
        };
      }),
  );
}

/** The adapter file bytes of every stored run (base64 across the page boundary). */
export async function storedAdapterFiles(page: Page): Promise<Uint8Array[]> {
  const b64 = await page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('seahorse-adapters');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('adapters').objectStore('adapters').getAll();
          get.onerror = () => reject(get.error);
          get.onsuccess = () => resolve((get.result as { adapter: Uint8Array }[]).map((r) => btoa(Array.from(r.adapter, (c) => String.fromCharCode(c)).join(''))));
        };
      }),
  );
  return b64.map((s) => new Uint8Array(Buffer.from(s, 'base64')));
}

/**
 * The side panel's wait line (src/app/wait-stages.ts): "Masks on screen T s after <start>:
 * stage a s, …." Checks that it is there for the run just finished, names the stages every
 * run has, and that the stages add up to the total (each is rounded to 0.1 s, so the sum may
 * be off by 0.05 s per stage). Returns the stages in seconds.
 */
export async function expectWaitLine(page: Page, start: string): Promise<Map<string, number>> {
  const line = page.getByTestId('wait-line');
  await expect(line).toBeVisible({ timeout: 120_000 });
  const text = (await line.textContent()) ?? '';
  const parsed = /^Masks on screen (\d+\.\d) s after (.+?): (.+?)\.(?: The scan was on screen after (\d+\.\d) s\.)?$/.exec(text);
  expect(parsed, text).not.toBeNull();
  const [, total, started, list, scanShown] = parsed!;
  expect(started).toBe(start);
  const stages = new Map(
    list.split(', ').map((part) => {
      const stage = /^([a-z -]+) (\d+\.\d) s$/.exec(part);
      expect(stage, part).not.toBeNull();
      return [stage![1], Number(stage![2])] as const;
    }),
  );
  for (const name of ['reading', 'decoding', 'drawing']) expect([...stages.keys()], text).toContain(name);
  const sum = [...stages.values()].reduce((a, b) => a + b, 0);
  expect(Math.abs(sum - Number(total)), `${text}: the stages add up to ${sum.toFixed(2)} s`).toBeLessThanOrEqual(0.05 * (stages.size + 1) + 1e-9);
  if (scanShown !== undefined) expect(Number(scanShown)).toBeLessThanOrEqual(Number(total));
  return stages;
}
