/**
 * SAM on one volume: slices along any plane, encoded on demand and cached, and the decoder run
 * per prompt. Masks come back on the slice grid (slice-geometry.ts maps them to voxels).
 * Used by the CLI (prompt-volume.ts), the benchmark and the studio's worker.
 */
import type { Volume } from '../core/volume';
import { DEFAULT_CACHE_SLICES, EmbeddingCache } from './embedding-cache';
import { binarise, lowResToSlice } from './postprocess';
import { intensityWindow, resizeGeometry, samEncoderInput, type IntensityWindow, type ResizeGeometry } from './preprocess';
import { encodePrompt, maskBox, type SlicePrompt } from './prompts';
import type { SamRuntime } from './runtime';
import { extractSlice, slicePlane, type PlaneName, type SlicePlane } from './slice-geometry';

export interface SliceMask {
  readonly plane: PlaneName;
  readonly slice: number;
  /** Logits on the slice grid (row-major, width × height). */
  readonly logits: Float32Array;
  /** 1 inside (logit > 0). */
  readonly mask: Uint8Array;
  readonly pixels: number;
  /** SAM's low-resolution logits, for feeding back as a mask input. */
  readonly lowRes: Float32Array;
  /** The decoder's IoU estimate. */
  readonly iou: number;
}

/** Time spent so far, for the benchmark and the UI. */
export interface SamTimings {
  encodes: number;
  encodeMs: number;
  decodes: number;
  decodeMs: number;
}

export interface PropagateOptions {
  /** +1 toward higher slice indices, −1 toward lower. */
  readonly direction: 1 | -1;
  /** Stop after this many slices (default: the volume's edge). */
  readonly maxSlices?: number;
  /** A mask smaller than this many pixels counts as vanished (default 4). */
  readonly minPixels?: number;
  /** A mask that grows by more than this factor over its predecessor has leaked: stop (default 3). */
  readonly maxGrowth?: number;
  /** Pixels added around the previous mask's bounding box to make the next slice's box (default `PROPAGATE_BOX_MARGIN`). */
  readonly boxMargin?: number;
  /** A mask whose mean intensity is further than this many of the start mask's standard deviations from the start mask's mean has left the structure: stop (default `PROPAGATE_MAX_DRIFT`). */
  readonly maxDrift?: number;
  readonly onSlice?: (mask: SliceMask) => void;
  readonly signal?: AbortSignal;
}

export const PROPAGATE_MIN_PIXELS = 4;
export const PROPAGATE_MAX_GROWTH = 3;
/**
 * The next slice's box is the previous mask's bounding box + this many pixels (the margin of a
 * box a user draws around a structure), and propagation stops where the mask's mean intensity
 * drifts more than PROPAGATE_MAX_DRIFT of the start mask's standard deviations from the start
 * mask's mean: the structure's tissue has been left. Chosen on one synthetic validation head's
 * per-slice statistics (bench/RESULTS.md, "The prompt tool's propagation").
 */
export const PROPAGATE_BOX_MARGIN = 2;
export const PROPAGATE_MAX_DRIFT = 1.5;

export class SamVolume {
  readonly window: IntensityWindow;
  readonly timings: SamTimings = { encodes: 0, encodeMs: 0, decodes: 0, decodeMs: 0 };
  private readonly planes = new Map<PlaneName, { plane: SlicePlane; geometry: ResizeGeometry }>();
  private readonly cache: EmbeddingCache;

  constructor(
    readonly volume: Volume,
    readonly runtime: SamRuntime,
    opts: { readonly cacheSlices?: number; readonly window?: IntensityWindow; readonly cache?: EmbeddingCache } = {},
  ) {
    this.window = opts.window ?? intensityWindow(volume.data);
    this.cache = opts.cache ?? new EmbeddingCache(opts.cacheSlices ?? DEFAULT_CACHE_SLICES);
  }

  /**
   * The same volume on another runtime whose encoder is the same model on the same provider
   * (another decoder: a fine-tuned one): the embeddings already encoded stay valid and are kept.
   */
  withDecoderOf(runtime: SamRuntime): SamVolume {
    if (runtime.name !== this.runtime.name) throw new Error(`the encoder moved from ${this.runtime.name} to ${runtime.name}: its embeddings are not the same`);
    if (runtime.encoderKey !== this.runtime.encoderKey) throw new Error('the encoder has other weights (an encoder-LoRA adapter): its embeddings are not the same');
    return new SamVolume(this.volume, runtime, { window: this.window, cache: this.cache });
  }

  plane(name: PlaneName): { plane: SlicePlane; geometry: ResizeGeometry } {
    let p = this.planes.get(name);
    if (!p) {
      const plane = slicePlane(this.volume.dims, this.volume.affine, this.volume.spacing, name);
      p = { plane, geometry: resizeGeometry(plane.width, plane.height, plane.pixelMm) };
      this.planes.set(name, p);
    }
    return p;
  }

  isEncoded(plane: PlaneName, slice: number): boolean {
    return this.cache.has(`${plane}:${slice}`);
  }

  /** The slice's image embedding, encoded once. */
  embedding(planeName: PlaneName, slice: number): Promise<Float32Array> {
    const { plane, geometry } = this.plane(planeName);
    return this.cache.get(`${planeName}:${slice}`, async () => {
      const pixels = extractSlice(plane, this.volume.dims, this.volume.data, slice);
      const input = samEncoderInput(pixels, geometry, this.window);
      const t0 = performance.now();
      const emb = await this.runtime.encode(input);
      this.timings.encodeMs += performance.now() - t0;
      this.timings.encodes++;
      return emb;
    });
  }

  /** The mask one prompt gives on one slice. */
  async segmentSlice(planeName: PlaneName, slice: number, prompt: SlicePrompt): Promise<SliceMask> {
    const { plane, geometry } = this.plane(planeName);
    const decoderPrompt = encodePrompt(prompt, geometry);
    const embedding = await this.embedding(planeName, slice);
    const t0 = performance.now();
    const out = await this.runtime.decode({ embedding, prompt: decoderPrompt, maskInput: prompt.maskInput, sliceSize: [plane.height, plane.width] });
    this.timings.decodeMs += performance.now() - t0;
    this.timings.decodes++;
    const logits = lowResToSlice(out.lowRes, geometry);
    const mask = binarise(logits);
    let pixels = 0;
    for (let p = 0; p < mask.length; p++) pixels += mask[p];
    return { plane: planeName, slice, logits, mask, pixels, lowRes: out.lowRes, iou: out.iou };
  }

  /**
   * Extends a mask through the neighbouring slices: each slice is prompted with the bounding
   * box of the previous slice's mask + `boxMargin`; it stops where the mask vanishes (fewer than
   * `minPixels`), leaks (grows more than `maxGrowth` times), drifts to other tissue (`maxDrift`),
   * or at the volume's edge.
   */
  async propagate(planeName: PlaneName, start: SliceMask, opts: PropagateOptions): Promise<SliceMask[]> {
    const { plane } = this.plane(planeName);
    const minPixels = opts.minPixels ?? PROPAGATE_MIN_PIXELS;
    const maxGrowth = opts.maxGrowth ?? PROPAGATE_MAX_GROWTH;
    const margin = opts.boxMargin ?? PROPAGATE_BOX_MARGIN;
    const maxDrift = opts.maxDrift ?? PROPAGATE_MAX_DRIFT;
    const tissue = this.maskIntensity(plane, start);
    const out: SliceMask[] = [];
    let prev = start;
    for (let s = start.slice + opts.direction, n = 0; s >= 0 && s < plane.sliceCount; s += opts.direction, n++) {
      if (opts.maxSlices !== undefined && n >= opts.maxSlices) break;
      if (opts.signal?.aborted) break;
      const tight = maskBox(prev.mask, plane.width, plane.height);
      if (!tight) break;
      const box = {
        x0: Math.max(tight.x0 - margin, 0),
        y0: Math.max(tight.y0 - margin, 0),
        x1: Math.min(tight.x1 + margin, plane.width - 1),
        y1: Math.min(tight.y1 + margin, plane.height - 1),
      };
      const next = await this.segmentSlice(planeName, s, { box });
      if (next.pixels < minPixels || next.pixels > maxGrowth * Math.max(prev.pixels, minPixels)) break;
      if (Math.abs(this.maskIntensity(plane, next).mean - tissue.mean) > maxDrift * tissue.sd) break;
      out.push(next);
      opts.onSlice?.(next);
      prev = next;
    }
    return out;
  }

  /** Mean and standard deviation of the scan's intensities under a slice mask. */
  private maskIntensity(plane: SlicePlane, m: SliceMask): { mean: number; sd: number } {
    const pixels = extractSlice(plane, this.volume.dims, this.volume.data, m.slice);
    let n = 0, sum = 0, sq = 0;
    for (let p = 0; p < m.mask.length; p++) {
      if (!m.mask[p]) continue;
      n++;
      sum += pixels[p];
      sq += pixels[p] * pixels[p];
    }
    const mean = n ? sum / n : 0;
    return { mean, sd: Math.sqrt(Math.max(sq / Math.max(n, 1) - mean * mean, 0)) };
  }

  clearCache(): void {
    this.cache.clear();
  }
}
