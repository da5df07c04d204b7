import type { Volume } from '../core/volume';
import type { CrossCheckFindings } from './fullhead';
import { LOCALISER_ID } from './localiser';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';
import { findHippocampi } from './segment-scan';

/** The shipped full-head localiser on onnxruntime-node, or null while models/localiser.* is not installed. */
export async function loadLocaliserNode(): Promise<LoadedNodeModel | null> {
  const installed = listInstalledModels(undefined, 'localisation').some((m) => m.manifest.id === LOCALISER_ID);
  return installed ? loadModelNode(LOCALISER_ID) : null;
}

/** The localiser's findings on scan after scan, its session opened on the first; `dispose` closes it. */
export interface NodeLocator {
  /** Null when it is not installed or could not stand behind what it found. */
  readonly locate: (scan: Volume) => Promise<CrossCheckFindings | null>;
  readonly dispose: () => Promise<void>;
}

export function nodeLocator(): NodeLocator {
  let model: Promise<LoadedNodeModel | null> | undefined;
  return {
    locate: async (scan) => {
      const localiser = await (model ??= loadLocaliserNode());
      return localiser ? findHippocampi(scan, localiser) : null;
    },
    dispose: async () => {
      await (await model?.catch(() => null))?.backend.dispose();
    },
  };
}
