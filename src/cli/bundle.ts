import { fileURLToPath } from 'node:url';

/**
 * The CLI's prebuilt bundle, when this process runs from it: bin/seahorse.mjs records the file
 * URL of its main.mjs, and worker threads start from the bundle's other entries beside it.
 */
interface BundleGlobal {
  seahorseCliBundle?: string;
}

/** The bundle's folder, which every build replaces (the prepared template's cache lives there); null when running the source through tsx. */
export function bundleFolder(): string | null {
  const bundle = (globalThis as BundleGlobal).seahorseCliBundle;
  return bundle ? fileURLToPath(new URL('.', bundle)) : null;
}

/** The URL of the bundle's entry `name` (e.g. `template-worker.mjs`); null when running the source through tsx. */
export function bundleEntry(name: string): URL | null {
  const bundle = (globalThis as BundleGlobal).seahorseCliBundle;
  return bundle ? new URL(name, bundle) : null;
}
