import { LOCALISER_ID } from './localiser';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';

/** The shipped full-head localiser on onnxruntime-node, or null while models/localiser.* is not installed. */
export async function loadLocaliserNode(): Promise<LoadedNodeModel | null> {
  const installed = listInstalledModels(undefined, 'localisation').some((m) => m.manifest.id === LOCALISER_ID);
  return installed ? loadModelNode(LOCALISER_ID) : null;
}
