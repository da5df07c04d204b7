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
  readonly onSlice?: (mask: SliceMask) => void;
  readonly signal?: AbortSignal;
}

export const PROPAGATE_MIN_PIXELS = 4;
export const PROPAGATE_MAX_GROWTH = 3;

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
   * box of the previous slice's mask; it stops where the mask vanishes (fewer than `minPixels`),
   * leaks (grows more than `maxGrowth` times), or at the volume's edge.
   */
  async propagate(planeName: PlaneName, start: SliceMask, opts: PropagateOptions): Promise<SliceMask[]> {
    const { plane } = this.plane(planeName);
    const minPixels = opts.minPixels ?? PROPAGATE_MIN_PIXELS;
    const maxGrowth = opts.maxGrowth ?? PROPAGATE_MAX_GROWTH;
    const out: SliceMask[] = [];
    let prev = start;
    for (let s = start.slice + opts.direction, n = 0; s >= 0 && s < plane.sliceCount; s += opts.direction, n++) {
      if (opts.maxSlices !== undefined && n >= opts.maxSlices) break;
      if (opts.signal?.aborted) break;
      const box = maskBox(prev.mask, plane.width, plane.height);
      if (!box) break;
      const next = await this.segmentSlice(planeName, s, { box });
      if (next.pixels < minPixels || next.pixels > maxGrowth * Math.max(prev.pixels, minPixels)) break;
      out.push(next);
      opts.onSlice?.(next);
      prev = next;
    }
    return out;
  }

  clearCache(): void {
    this.cache.clear();
  }
}
