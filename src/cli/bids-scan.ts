/**
 * One scan of the BIDS App's participant level, in whichever process runs it (the CLI
 * itself, or a worker process of the pool): read the T1w, segment it with the single-scan
 * pipeline (src/infer/segment-scan.ts), write the derivative files, or record the error.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelIdentity } from '../bids/derivatives';
import { derivativePaths } from '../bids/derivatives';
import { writeAtomic } from '../bids/fs-node';
import type { T1wScan } from '../bids/layout';
import { renderMosaic } from '../bids/mosaic';
import { dsegSidecar, reportOf, scanMeasures, VOLUME_COLUMNS, volumeRows, type ScanMeasures } from '../bids/record';
import { formatTsv } from '../bids/tsv';
import type { PreparedTemplate } from '../core/fullhead';
import { readVolume, writeNifti } from '../core/io';
import { gunzipNode } from '../core/io/gunzip-node';
import { createOrtNodeBackend } from '../infer/ort-node';
import type { LoadedModel } from '../infer/pipeline';
import { PROTOCOLS, type Protocol } from '../infer/manifest';
import { loadLocaliserNode } from '../infer/localiser-node';
import { modelForProtocol } from '../infer/protocol-choice';
import { listInstalledModels, readModelNode } from '../infer/registry-node';
import { segmentScan } from '../infer/segment-scan';
import { applyAdapterToOnnx } from '../peft/apply';
import { BaseModelMismatchError } from '../peft/errors';
import { encodePng } from '../report/png';
import { withAdaptedProtocol } from '../train/label-map';
import { readAdapterFile } from './adapter';
import { cliTemplateOnce } from './template-once';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The version recorded in every output (package.json). */
export const SEAHORSE_VERSION: string = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** What the participant level was asked to run: the same in every worker process. */
export interface ModelChoice {
  /** Model id or .onnx path. */
  readonly model: string;
  readonly adapter: string | null;
  readonly protocol: Protocol | null;
}

/**
 * `--model` / `--protocol` → the model to run. Without --model: the installed trained model
 * of the protocol, which for whole heads defaults to FreeSurfer's when installed, as
 * `seahorse segment` does. A model whose manifest names another protocol is refused: its
 * volumes would not mean what was asked.
 */
export function chooseModel(opts: { model?: string; protocol?: string; adapter?: string }): ModelChoice {
  if (opts.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(opts.protocol)) {
    throw new Error(`unknown protocol "${opts.protocol}"; known: ${PROTOCOLS.join(', ')}`);
  }
  const protocol = (opts.protocol as Protocol | undefined) ?? null;
  let model = opts.model;
  if (!model) {
    // As `seahorse segment` chooses for a full head (src/infer/protocol-choice.ts): BIDS T1w images are whole heads.
    const manifests = listInstalledModels().map((m) => m.manifest);
    const trained = manifests.filter((m) => m.status === 'trained');
    if (!trained.length) throw new Error('no trained model is installed; choose one with --model <id | model.onnx>');
    model = modelForProtocol(manifests, trained[0], { choice: protocol ?? 'auto', path: 'full-head', sublabels: false }).id;
  }
  return { model, adapter: opts.adapter ? resolve(opts.adapter) : null, protocol };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Reads and checks the model (and adapter) named by `choice`; `open` also starts onnxruntime on
 * it. The adapter is merged in both cases: the merge is what checks that it was trained on this
 * base model, and the parent must refuse a mismatch before it writes anything or forks workers.
 */
export async function openModel(choice: ModelChoice, opts: { open: false }): Promise<{ identity: ModelIdentity }>;
export async function openModel(choice: ModelChoice, opts: { open: true; threads?: number }): Promise<{ identity: ModelIdentity; model: LoadedModel }>;
export async function openModel(choice: ModelChoice, opts: { open: boolean; threads?: number }): Promise<{ identity: ModelIdentity; model?: LoadedModel }> {
  const read = readModelNode(choice.model);
  const { bytes } = read;
  const adapter = choice.adapter ? await readAdapterFile(choice.adapter) : null;
  // Adapted, the model follows the protocol of the labels it was trained on.
  const manifest = adapter ? withAdaptedProtocol(read.manifest, adapter.training.labelMap) : read.manifest;
  if (choice.protocol && manifest.protocol && manifest.protocol !== choice.protocol) {
    throw new Error(`model ${manifest.id}${adapter ? ' with the adapter' : ''} follows the ${manifest.protocol} protocol, not ${choice.protocol}; choose another --model or --protocol`);
  }
  let onnx = bytes;
  if (adapter && choice.adapter) {
    try {
      onnx = (await applyAdapterToOnnx(bytes, adapter, `model ${manifest.id}`)).bytes;
    } catch (e) {
      if (!(e instanceof BaseModelMismatchError)) throw e;
      const hint = adapter.base.label && adapter.base.label !== manifest.id ? ` (run it with --model ${adapter.base.label})` : '';
      throw new Error(`adapter ${basename(choice.adapter)} does not fit model ${manifest.id}: ${e.message}. An adapter runs only on the base model it was trained on${hint}`);
    }
  }
  const identity: ModelIdentity = {
    id: manifest.id,
    name: manifest.name,
    status: manifest.status,
    sha256: sha256(bytes),
    protocol: manifest.protocol ?? choice.protocol,
    adapter:
      adapter && choice.adapter
        ? {
            file: basename(choice.adapter),
            method: adapter.method.method,
            sha256: sha256(new Uint8Array(readFileSync(choice.adapter))),
            baseFingerprint: adapter.base.fingerprint,
            steps: typeof adapter.training.steps === 'number' ? adapter.training.steps : null,
          }
        : null,
  };
  if (!opts.open) return { identity };
  return { identity, model: { manifest, backend: await createOrtNodeBackend(onnx, { threads: opts.threads }) } };
}

/** onnxruntime threads per worker: the cores shared out, at least one each. */
export function threadsPerWorker(nProcs: number): number | undefined {
  return nProcs <= 1 ? undefined : Math.max(1, Math.floor(availableParallelism() / nProcs));
}

export interface ScanJob {
  readonly bidsDir: string;
  readonly outputDir: string;
  readonly scan: T1wScan;
}

export type ScanOutcome =
  | { readonly status: 'ok'; readonly measures: ScanMeasures; readonly seconds: number }
  | { readonly status: 'failed'; readonly error: string; readonly seconds: number };

export interface RunContext {
  readonly model: LoadedModel;
  readonly identity: ModelIdentity;
  readonly template: () => Promise<PreparedTemplate>;
  /** The learned full-head localiser when installed (loaded once, on the first full head), as `seahorse segment` uses it. */
  readonly localiserModel: () => Promise<LoadedModel | null>;
}

export function runContext(model: LoadedModel, identity: ModelIdentity): RunContext {
  let localiser: Promise<LoadedModel | null> | undefined;
  return { model, identity, template: cliTemplateOnce(), localiserModel: () => (localiser ??= loadLocaliserNode()) };
}

/** A scan is finished when its sidecar exists: it is written last, after the labels. */
export function isFinished(outputDir: string, scan: T1wScan): boolean {
  const p = derivativePaths(scan);
  return existsSync(join(outputDir, p.sidecar)) && existsSync(join(outputDir, p.dseg));
}

/** Segments one scan and writes its derivatives; any error is recorded in logs/ and returned, never thrown. */
export async function processScan(job: ScanJob, ctx: RunContext): Promise<ScanOutcome> {
  const started = performance.now();
  const paths = derivativePaths(job.scan);
  const out = (rel: string) => join(job.outputDir, rel);
  try {
    const source = join(job.bidsDir, job.scan.path);
    const image = readVolume(new Uint8Array(readFileSync(source)), basename(source), { gunzip: gunzipNode });
    const result = await segmentScan(image, ctx.model, { template: ctx.template, localiserModel: ctx.localiserModel });
    const measures = scanMeasures(reportOf(result), ctx.identity.status);
    const maxLabel = Math.max(...result.labelInfo.map((l) => l.value));
    rmSync(out(paths.error), { force: true });
    writeAtomic(out(paths.dseg), writeNifti(result.labels, { gzip: true, description: `seahorse ${ctx.identity.id} ${result.path}`, displayRange: [0, maxLabel] }));
    writeAtomic(out(paths.volumes), formatTsv(VOLUME_COLUMNS, volumeRows(measures)));
    const mosaic = renderMosaic(image, result.labels, result.labelInfo, result.path);
    if (mosaic) writeAtomic(out(paths.mosaic), encodePng(mosaic));
    else rmSync(out(paths.mosaic), { force: true });
    writeAtomic(out(paths.sidecar), `${JSON.stringify(dsegSidecar({ source: job.scan.path, version: SEAHORSE_VERSION, model: ctx.identity, measures }), null, 2)}\n`);
    return { status: 'ok', measures, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    recordFailure(job, error, ctx.identity);
    return { status: 'failed', error, seconds: (performance.now() - started) / 1000 };
  }
}

/** Records a scan's error in logs/ and removes any older outputs of it (they would no longer be this run's). */
export function recordFailure(job: ScanJob, error: string, identity: ModelIdentity | null): void {
  const paths = derivativePaths(job.scan);
  for (const f of [paths.sidecar, paths.dseg, paths.volumes, paths.mosaic]) rmSync(join(job.outputDir, f), { force: true });
  writeAtomic(
    join(job.outputDir, paths.error),
    `${JSON.stringify({ Source: job.scan.path, Error: error, SeahorseVersion: SEAHORSE_VERSION, Model: identity, Time: new Date().toISOString() }, null, 2)}\n`,
  );
}
