/**
 * Node side of the model registry: reads `models/*.json`, resolves their file
 * references on disk (`fixtures:` → $SEAHORSE_SHARED/fixtures, default ../shared/fixtures
 * beside the checkout; anything else relative to the manifest), and opens a model on
 * onnxruntime-node. A path to a plain .onnx works too (manifest built from its graph).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, externalLocations, inlineModel, modelInputSize } from '../onnx';
import { taskOf, type ModelManifest, type ModelTask } from './manifest';
import { createOrtNodeBackend, type OrtNodeOptions } from './ort-node';
import type { LoadedModel } from './pipeline';
import { externalDataLocation, manifestFromOnnx, parseManifest, splitFixtureRef } from './registry';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The shipped manifests. */
export const modelsDir = join(repoRoot, 'models');

/** The shared fixtures folder that `fixtures:` references point into. */
export function fixturesRoot(): string {
  return join(resolve(process.env.SEAHORSE_SHARED ?? join(repoRoot, '..', 'shared')), 'fixtures');
}

/** An installed manifest and the folder its relative references start from. */
export interface InstalledModel {
  readonly manifest: ModelManifest;
  readonly dir: string;
}

/**
 * The segmentation models in a models folder (default: the repository's `models/`), by
 * file name; `task` picks the localiser instead (`localisation`).
 */
export function listInstalledModels(dir = modelsDir, task: ModelTask = 'segmentation'): InstalledModel[] {
  return listAllManifests(dir).filter((m) => taskOf(m.manifest) === task);
}

function listAllManifests(dir: string): InstalledModel[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ manifest: parseManifest(JSON.parse(readFileSync(join(dir, f), 'utf8')), f), dir }));
}

/** A manifest file reference as a path on this machine. */
export function resolveRef(ref: string, manifestDir: string): string {
  const { fixture, path } = splitFixtureRef(ref);
  if (fixture) return join(fixturesRoot(), path);
  return isAbsolute(path) ? path : join(manifestDir, path);
}

export interface LoadedNodeModel extends LoadedModel {
  /** The ONNX file that was opened. */
  readonly onnxPath: string;
}

function readFile(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${what} not found: ${path}`);
  return new Uint8Array(readFileSync(path));
}

export interface LoadNodeOptions extends OrtNodeOptions {
  modelsDir?: string;
  /**
   * Rewrites the self-contained ONNX bytes before the session opens (e.g. merging a PEFT
   * adapter into the weights, src/peft/apply.ts).
   */
  adapt?: (onnxBytes: Uint8Array) => Promise<Uint8Array>;
}

/**
 * Opens a model by manifest id (see `listInstalledModels`) or by the path of an .onnx
 * file (external-data files beside it). The ONNX's input size must match its manifest.
 */
export async function loadModelNode(spec: string, opts: LoadNodeOptions = {}): Promise<LoadedNodeModel> {
  const { manifest, bytes, onnxPath } = readModelNode(spec, opts);
  const model = opts.adapt ? await opts.adapt(bytes) : bytes;
  return { manifest, backend: await createOrtNodeBackend(model, opts), onnxPath };
}

/** A model's manifest and its self-contained ONNX bytes (external data inlined), by id or .onnx path. */
export function readModelNode(spec: string, opts: { modelsDir?: string } = {}): { manifest: ModelManifest; bytes: Uint8Array; onnxPath: string } {
  let manifest: ModelManifest;
  let onnxPath: string;
  const external = new Map<string, Uint8Array>();
  if (spec.toLowerCase().endsWith('.onnx')) {
    onnxPath = resolve(spec);
    const bytes = readFile(onnxPath, 'model file');
    const model = decodeModel(bytes);
    for (const location of externalLocations(model)) {
      external.set(location, readFile(join(dirname(onnxPath), location), `weights file "${location}" (named by the model)`));
    }
    const id = basename(onnxPath, '.onnx');
    manifest = manifestFromOnnx(model, { id, name: id, onnx: onnxPath, externalData: [...external.keys()] });
    return { manifest, bytes: inlineModel(bytes, external, model), onnxPath };
  }
  const installed = listAllManifests(opts.modelsDir ?? modelsDir);
  const found = installed.find((m) => m.manifest.id === spec);
  if (!found) {
    const ids = installed.map((m) => `${m.manifest.id} (${m.manifest.status})`).join(', ') || 'none';
    throw new Error(`no model "${spec}". Installed: ${ids}. Or give the path of an .onnx file.`);
  }
  manifest = found.manifest;
  onnxPath = resolveRef(manifest.onnx, found.dir);
  const bytes = readFile(onnxPath, `model file of ${manifest.id}`);
  for (const ref of manifest.externalData ?? []) {
    external.set(externalDataLocation(ref, manifest.onnx), readFile(resolveRef(ref, found.dir), `weights file of ${manifest.id}`));
  }
  const model = decodeModel(bytes);
  const graphSize = modelInputSize(model);
  if (graphSize.some((d, a) => d !== manifest.inputSize[a])) {
    throw new Error(`model ${manifest.id}: the manifest says input ${manifest.inputSize.join('×')}, the ONNX graph ${graphSize.join('×')}`);
  }
  return { manifest, bytes: inlineModel(bytes, external, model), onnxPath };
}
