/**
 * The model registry as the studio sees it: the manifests in `models/*.json` (bundled, they
 * are small; validated like the CLI's) and the URLs their files are served from.
 */
import { taskOf, type ModelManifest } from '../infer/manifest';
import { externalDataLocation, parseManifest, splitFixtureRef } from '../infer/registry';
import type { ModelSource } from '../workers/protocol';
import { ADAPTED_MODEL_PREFIX } from '../workers/training-protocol';

/** Validated segmentation manifests, trained models first, then by name (the localiser is not one). */
export function registryModels(files: Readonly<Record<string, unknown>>): ModelManifest[] {
  const manifests = Object.entries(files)
    .map(([path, json]) => parseManifest(json, path))
    .filter((m) => taskOf(m) === 'segmentation');
  const rank = (m: ModelManifest) => (m.status === 'trained' ? 0 : m.status === 'user' ? 1 : 2);
  return manifests.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/**
 * The URL a manifest file reference is fetched from: `fixtures:x` → `<base>fixtures/x`, an
 * absolute path stays as it is, anything else is beside the manifest under `<base>models/`.
 */
export function fileUrl(ref: string, base: string): string {
  if (ref.startsWith(ADAPTED_MODEL_PREFIX)) return ref; // merged in the worker from browser storage
  const { fixture, path } = splitFixtureRef(ref);
  if (fixture) return `${base}fixtures/${path}`;
  if (path.startsWith('/')) return path;
  return `${base}models/${path}`;
}

export function modelSource(manifest: ModelManifest, base: string): ModelSource {
  return {
    manifest,
    onnxUrl: fileUrl(manifest.onnx, base),
    externalData: (manifest.externalData ?? []).map((ref) => ({
      path: externalDataLocation(ref, manifest.onnx),
      url: fileUrl(ref, base),
    })),
  };
}

/** The model a page opens with: `?model=<id>` when it names one, else the first in order. */
export function initialModelId(models: readonly ModelManifest[], requested: string | null): string {
  return models.find((m) => m.id === requested)?.id ?? models[0]?.id ?? '';
}

/** The full-head localiser's manifest among the bundled ones (models/localiser.json), if installed. */
export function localiserManifest(files: Readonly<Record<string, unknown>>): ModelManifest | undefined {
  return Object.entries(files)
    .map(([path, json]) => parseManifest(json, path))
    .find((m) => taskOf(m) === 'localisation' && m.status === 'trained');
}
