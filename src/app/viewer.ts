/**
 * The NiiVue view: the scan in multiplanar slices plus a 3-D render, the masks as a label
 * overlay and, for a full head, the registration's template outline as another. One instance
 * per page; React only gives it a canvas.
 *
 * A GPU reset (a driver timeout, another tab, the GPU process restarting) loses the WebGL
 * context, and NiiVue cannot restore its state into a new one. The viewer therefore keeps
 * what it shows (as Blobs, which the browser may keep out of the JS heap) and redraws it on
 * a fresh canvas and NiiVue instance.
 */
import { DRAG_MODE, MULTIPLANAR_TYPE, NVImage, Niivue, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue';
import type { PlaneName } from '../sam/slice-geometry';
import type { NiivueLabelColormap } from './label-colormap';
import { putOverlay, refreshOverlays, removeAllVolumes, removeOverlay } from './niivue-layers';

/** Dark neutral grey behind the slices, so the scan's own black reads as black. */
const backColour = [0.07, 0.08, 0.1, 1];
/** Red, apart from the label colours (Okabe–Ito orange and sky blue). */
const crosshairColour = [0.95, 0.25, 0.3, 1];

function createNiivue(): Niivue {
  return new Niivue({
    backColor: backColour,
    crosshairColor: crosshairColour,
    // In percent of the scene: thin on a 256 mm head and on a 40 mm hippocampus crop alike
    // (NiiVue's default, one voxel, covers a crop's slices in thick bars).
    crosshairWidthUnit: 'percent',
    crosshairWidth: 0.75,
    show3Dcrosshair: true,
    // The page handles drops itself (files, folders, DICOM); NiiVue's own handler would fetch.
    dragAndDropEnabled: false,
    multiplanarShowRender: SHOW_RENDER.ALWAYS,
    // 2 × 2: three slices and the render, each as large as the pane allows.
    multiplanarLayout: MULTIPLANAR_TYPE.GRID,
    isColorbar: false,
    isOrientCube: false,
    logLevel: 'error',
    loadingText: '',
  });
}

/** Where the prompt tool's clicks and drags go (world RAS mm, the slice's plane). */
export interface PromptInput {
  readonly click: (plane: PlaneName, mm: [number, number, number]) => void;
  readonly box: (plane: PlaneName, start: [number, number, number], end: [number, number, number]) => void;
  /** The crosshair moved (a click, a scroll, a key), to this world point (RAS mm). */
  readonly rest?: (mm: [number, number, number]) => void;
}

/** NiiVue's 2-D tile kinds (SLICE_TYPE) as plane names. */
const PLANE_OF: Record<number, PlaneName | undefined> = {
  [SLICE_TYPE.AXIAL]: 'axial',
  [SLICE_TYPE.CORONAL]: 'coronal',
  [SLICE_TYPE.SAGITTAL]: 'sagittal',
};

interface Shown {
  readonly scan?: { readonly file: Blob; readonly name: string };
  readonly labels?: { readonly file: Blob; readonly colormap: NiivueLabelColormap };
  /** The registration's template outline (full head), drawn under the masks. */
  readonly outline?: { readonly file: Blob; readonly colormap: NiivueLabelColormap };
}

export class ScanViewer {
  private nv: Niivue | undefined;
  private canvas: HTMLCanvasElement | undefined;
  private attached: Promise<void> = Promise.resolve();
  private shown: Shown = {};
  private scanImage: NVImage | undefined;
  private labelImage: NVImage | undefined;
  private outlineImage: NVImage | undefined;
  private opacity = 0.6;
  private outlineVisible = true;
  /** Where the crosshair was put (world RAS mm), kept for a redraw on a new canvas. */
  private focusMm: readonly [number, number, number] | undefined;
  private prompt: { readonly input: PromptInput; readonly mode: 'point' | 'box' } | null = null;
  /** The last click location on a 2-D tile since the mouse went down (a click ends on mouse up). */
  private pendingClick: { plane: PlaneName; mm: [number, number, number] } | undefined;
  /** Called when the WebGL context is lost; the page then mounts a new canvas. */
  onContextLost: (() => void) | undefined;

  /** Binds to a canvas (again after a context loss); React StrictMode's second call is a no-op. */
  attach(canvas: HTMLCanvasElement): Promise<void> {
    if (this.canvas === canvas) return this.attached;
    this.canvas = canvas;
    const nv = createNiivue();
    this.nv = nv;
    this.scanImage = undefined;
    this.labelImage = undefined;
    this.outlineImage = undefined;
    canvas.addEventListener(
      'webglcontextlost',
      (event) => {
        event.preventDefault();
        if (this.nv === nv) this.onContextLost?.();
      },
      { once: true },
    );
    this.bindPrompt(nv);
    this.attached = nv.attachToCanvas(canvas).then(async () => {
      nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
      await this.redraw(nv);
    });
    return this.attached;
  }

  /**
   * The prompt tool's input: in `point` mode a click on a 2-D slice (which also moves the
   * crosshair) is reported on mouse up; in `box` mode a left drag inside one slice tile is
   * reported as its two corners instead of moving the crosshair. `null` restores the viewer.
   */
  setPromptInput(input: PromptInput | null, mode: 'point' | 'box'): void {
    this.prompt = input ? { input, mode } : null;
    if (this.nv) this.applyPromptMode(this.nv);
  }

  private applyPromptMode(nv: Niivue): void {
    nv.opts.dragModePrimary = this.prompt?.mode === 'box' ? DRAG_MODE.callbackOnly : DRAG_MODE.crosshair;
  }

  private bindPrompt(nv: Niivue): void {
    this.applyPromptMode(nv);
    const mm3 = (mm: ArrayLike<number>): [number, number, number] => [mm[0], mm[1], mm[2]];
    nv.onLocationChange = (location: unknown) => {
      const loc = location as { axCorSag: number; mm: ArrayLike<number> };
      const plane = PLANE_OF[loc.axCorSag]; // NaN (a scroll, a keypress) is not a click
      if (this.prompt?.mode === 'point' && plane) this.pendingClick = { plane, mm: mm3(loc.mm) };
      this.prompt?.input.rest?.(mm3(loc.mm));
    };
    nv.onMouseUp = () => {
      const click = this.pendingClick;
      this.pendingClick = undefined;
      if (click && this.prompt?.mode === 'point') this.prompt.input.click(click.plane, click.mm);
    };
    nv.onDragRelease = (p) => {
      const plane = PLANE_OF[p.axCorSag];
      if (this.prompt?.mode === 'box' && plane && p.tileIdx >= 0) this.prompt.input.box(plane, mm3(p.mmStart), mm3(p.mmEnd));
    };
  }

  /** Shows a scan, replacing whatever was shown. `name` picks NiiVue's parser by extension. */
  async showScan(bytes: ArrayBuffer, name: string): Promise<void> {
    this.shown = { scan: { file: new Blob([bytes]), name } };
    this.focusMm = undefined;
    await this.attached;
    if (this.nv) await this.redraw(this.nv);
  }

  /**
   * Shows a label volume (a NIfTI file) over the scan with the given colours; `centre` (world
   * RAS mm) moves the crosshair there in the same drawing.
   */
  async showLabels(nifti: Uint8Array, colormap: NiivueLabelColormap, opacity: number, centre?: readonly [number, number, number]): Promise<void> {
    this.opacity = opacity;
    if (centre) this.focusMm = centre;
    this.shown = { ...this.shown, labels: { file: new Blob([nifti as Uint8Array<ArrayBuffer>]), colormap } };
    await this.attached;
    if (this.nv) await this.drawLabels(this.nv);
  }

  /** Resolves after the next frame is painted: what was just drawn is on screen. */
  nextFrame(): Promise<void> {
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  setLabelOpacity(opacity: number): void {
    this.opacity = opacity;
    if (!this.labelImage || !this.nv) return;
    this.labelImage.opacity = opacity;
    refreshOverlays(this.nv);
  }

  clearLabels(): void {
    this.shown = { ...this.shown, labels: undefined };
    if (this.labelImage && this.nv) removeOverlay(this.nv, this.labelImage);
    this.labelImage = undefined;
  }

  /** Where the crosshair is (world RAS mm); undefined before a scan is shown. */
  crosshairMm(): [number, number, number] | undefined {
    const nv = this.nv;
    if (!nv || nv.volumes.length === 0) return undefined;
    const mm = nv.frac2mm(nv.scene.crosshairPos);
    return [mm[0], mm[1], mm[2]];
  }

  /** Moves the crosshair, and so the three slices, to a world point (RAS mm): a hippocampus's centre. */
  centreOn(mm: readonly [number, number, number]): void {
    this.focusMm = mm;
    if (this.nv && this.scanImage) this.applyFocus(this.nv);
  }

  private applyFocus(nv: Niivue, draw = true): void {
    if (!this.focusMm) return;
    nv.scene.crosshairPos = nv.mm2frac([...this.focusMm]);
    // As NiiVue's own crosshair moves: only a scan too large for a 3-D texture (drawn slice by
    // slice) needs its layers rebuilt; otherwise the scene is drawn again.
    if (!draw) return;
    if (nv.opts.is2DSliceShader) nv.updateGLVolume();
    else nv.drawScene();
  }

  /** Shows the template outline (a NIfTI label file on the scan's grid), or keeps it hidden. */
  async showOutline(nifti: Uint8Array, colormap: NiivueLabelColormap, visible: boolean): Promise<void> {
    this.outlineVisible = visible;
    this.shown = { ...this.shown, outline: { file: new Blob([nifti as Uint8Array<ArrayBuffer>]), colormap } };
    await this.attached;
    if (this.nv) await this.drawOutline(this.nv);
  }

  setOutlineVisible(visible: boolean): void {
    this.outlineVisible = visible;
    if (!this.outlineImage || !this.nv) return;
    this.outlineImage.opacity = visible ? 1 : 0;
    refreshOverlays(this.nv);
  }

  clearOutline(): void {
    this.shown = { ...this.shown, outline: undefined };
    if (this.outlineImage && this.nv) removeOverlay(this.nv, this.outlineImage);
    this.outlineImage = undefined;
  }

  /**
   * Moves the shown mask into NiiVue's drawing layer, to correct it with NiiVue's pen (a label
   * value), filled pen, eraser (value 0) and undo. Returns false when no mask is shown.
   */
  startCorrection(): boolean {
    const nv = this.nv;
    if (!nv || !this.labelImage || !nv.loadDrawing(this.labelImage)) return false;
    removeOverlay(nv, this.labelImage);
    this.labelImage = undefined;
    nv.setDrawOpacity(this.opacity);
    nv.setDrawingEnabled(true);
    nv.setPenValue(1, false);
    return true;
  }

  /**
   * Continues a correction kept from an earlier session: `nifti` (a mask on this scan's grid, as
   * `correctedMask` wrote it) becomes the drawing layer, as `startCorrection` does with the shown
   * mask. False when no scan is shown or the mask does not fit it.
   */
  async resumeCorrection(nifti: Uint8Array): Promise<boolean> {
    const nv = this.nv;
    if (!nv || !this.scanImage) return false;
    const image = await NVImage.loadFromUrl({ url: nifti.slice().buffer, name: 'correction.nii' });
    if (nv !== this.nv || !nv.loadDrawing(image)) return false;
    if (this.labelImage) removeOverlay(nv, this.labelImage);
    this.labelImage = undefined;
    nv.setDrawOpacity(this.opacity);
    nv.setDrawingEnabled(true);
    nv.setPenValue(1, false);
    return true;
  }

  /** Calls `changed` after each stroke and each undo in drawing mode (null: no longer). */
  watchCorrection(changed: (() => void) | null): void {
    if (!this.nv) return;
    this.nv.onDrawingChanged = (action: string) => {
      if (changed && (action === 'draw' || action === 'undo')) changed();
    };
  }

  /** The pen's label value (0 erases) and whether it fills closed outlines. */
  setPen(value: number, filled: boolean): void {
    this.nv?.setPenValue(value, filled);
  }

  undoDrawing(): void {
    this.nv?.drawUndo();
  }

  /** The corrected mask as a NIfTI file on the scan's own grid (NiiVue writes the drawing back in the scan's orientation). */
  async correctedMask(): Promise<Uint8Array> {
    const out = await this.nv?.saveImage({ filename: '', isSaveDrawing: true, volumeByIndex: 0 });
    if (!(out instanceof Uint8Array)) throw new Error('there is no drawing to save: correct a mask first');
    return out;
  }

  /** Leaves drawing mode; the mask shown before (if any) comes back. */
  async endCorrection(): Promise<void> {
    const nv = this.nv;
    if (!nv) return;
    nv.setDrawingEnabled(false);
    nv.closeDrawing();
    await this.drawLabels(nv);
  }

  /** Puts everything in `shown` on this NiiVue instance, replacing what it showed. */
  private async redraw(nv: Niivue): Promise<void> {
    removeAllVolumes(nv);
    this.outlineImage = undefined;
    this.labelImage = undefined;
    this.scanImage = undefined;
    const { scan } = this.shown;
    if (!scan) return;
    const image = await NVImage.loadFromUrl({ url: await scan.file.arrayBuffer(), name: scan.name });
    if (nv !== this.nv || scan !== this.shown.scan) return; // superseded meanwhile
    if (this.scanImage) nv.removeVolume(this.scanImage);
    this.scanImage = image;
    nv.addVolume(image);
    this.applyFocus(nv);
    await this.drawLabels(nv);
    await this.drawOutline(nv);
  }

  /** Shows `shown.labels`: the masks shown before stay until the new ones replace them in place. */
  private async drawLabels(nv: Niivue): Promise<void> {
    const { labels } = this.shown;
    if (!labels || !this.scanImage) {
      if (this.labelImage) removeOverlay(nv, this.labelImage);
      this.labelImage = undefined;
      return;
    }
    const image = await NVImage.loadFromUrl({ url: await labels.file.arrayBuffer(), name: 'labels.nii', opacity: this.opacity });
    if (nv !== this.nv || labels !== this.shown.labels) return; // superseded meanwhile
    image.setColormapLabel(labels.colormap);
    const old = this.labelImage;
    this.labelImage = image;
    this.applyFocus(nv, false); // drawn with the masks
    putOverlay(nv, old, image);
  }

  private async drawOutline(nv: Niivue): Promise<void> {
    const { outline } = this.shown;
    if (!outline || !this.scanImage) {
      if (this.outlineImage) removeOverlay(nv, this.outlineImage);
      this.outlineImage = undefined;
      return;
    }
    const opacity = this.outlineVisible ? 1 : 0;
    const image = await NVImage.loadFromUrl({ url: await outline.file.arrayBuffer(), name: 'outline.nii', opacity });
    if (nv !== this.nv || outline !== this.shown.outline) return; // superseded meanwhile
    image.setColormapLabel(outline.colormap);
    const old = this.outlineImage;
    this.outlineImage = image;
    putOverlay(nv, old, image);
  }
}
