/**
 * NiiVue's layers, changed one overlay at a time. NiiVue's own `addVolume`, `removeVolume` and
 * `updateGLVolume` rebuild every layer, the scan's 3-D texture and the render's gradients
 * included, and wait for the GPU: seconds of a blocked page per change on a software GPU
 * (SwiftShader), for the same picture. These build only the overlay layers.
 *
 * They lean on how NiiVue (0.69) composites overlays: layer 0 is the scan; layer 1 starts the
 * overlay texture and each later layer blends onto it, in order; the shaders read the overlay
 * count when a layer is built. `studio.spec.ts`, `fullhead.spec.ts` and `sam.spec.ts` check the
 * pixels these paths draw: run them after a NiiVue upgrade.
 */
import type { Niivue } from '@niivue/niivue';

/** The part of a Niivue instance the layer helpers use (`V` is its volume type, NVImage). */
export interface LayeredViewer<V> {
  volumes: V[];
  overlays: V[];
  readonly opts: Pick<Niivue['opts'], 'is2DSliceShader'>;
  addVolume(volume: V): void;
  removeVolume(volume: V): void;
  refreshLayers(volume: V, layer: number): void;
  updateGLVolume(): void;
  drawScene(): void;
}

/**
 * Shows `image` as an overlay: in `old`'s place when that is shown (a mask updated), else on top.
 * Only the overlay layers are built again.
 */
export function putOverlay<V>(nv: LayeredViewer<V>, old: V | undefined, image: V): void {
  const at = old ? nv.volumes.indexOf(old) : -1;
  if (at < 1) {
    addOverlay(nv, image);
    return;
  }
  nv.volumes = nv.volumes.map((v) => (v === old ? image : v));
  nv.overlays = nv.volumes.slice(1);
  refreshOverlays(nv);
}

/**
 * Builds the overlay layers again, in order (NiiVue composites them into one texture: layer 1
 * starts it, each later one blends onto it), and draws: what `updateGLVolume` does without
 * rebuilding the scan's layer. A scan drawn slice by slice (too large for a 3-D texture) takes
 * NiiVue's full rebuild, which handles that case.
 */
export function refreshOverlays<V>(nv: LayeredViewer<V>): void {
  if (nv.opts.is2DSliceShader) {
    nv.updateGLVolume();
    return;
  }
  for (let layer = 1; layer < nv.volumes.length; layer++) nv.refreshLayers(nv.volumes[layer], layer);
  nv.drawScene();
}

/**
 * Takes one overlay off, building only the overlays left. The last one goes through NiiVue's
 * `removeVolume` (a full rebuild): the shaders read the overlay count when a layer is built, and
 * with no overlay left the only layer to build is the scan's.
 */
export function removeOverlay<V>(nv: LayeredViewer<V>, image: V): void {
  const rest = nv.volumes.filter((v) => v !== image);
  if (rest.length === nv.volumes.length) return;
  if (rest.length < 2) {
    nv.removeVolume(image);
    return;
  }
  nv.volumes = rest;
  nv.overlays = rest.slice(1);
  refreshOverlays(nv);
}

/**
 * Takes every volume off the viewer, building no layer: NiiVue's `removeVolume` rebuilds the
 * layers left after each removal, so the overlays are dropped from the lists first and the scan
 * is removed alone.
 */
export function removeAllVolumes<V>(nv: LayeredViewer<V>): void {
  if (nv.volumes.length === 0) return;
  const back = nv.volumes[0];
  nv.volumes = [back];
  nv.overlays = [];
  nv.removeVolume(back);
}

/**
 * Adds an overlay on top of the layers shown, building only its own layer (overlays are
 * composited in order, so the last one alone is what a full rebuild would add; see `putOverlay`).
 */
function addOverlay<V>(nv: LayeredViewer<V>, image: V): void {
  if (nv.volumes.length === 0) {
    nv.addVolume(image);
    return;
  }
  nv.volumes = [...nv.volumes, image];
  nv.overlays = nv.volumes.slice(1);
  nv.refreshLayers(image, nv.volumes.length - 1);
  nv.drawScene();
}
