/**
 * One interface over the runtimes that run SAM's two ONNX models (the image encoder and the
 * prompt encoder + mask decoder): onnxruntime-node on the CPU (CLI, tests, benchmarks) and
 * onnxruntime-web on WebGPU or wasm (the studio's worker). The prompt pipeline only sees this.
 */
import type { BackendName } from '../infer/backend';
import type { DecoderPrompt } from './prompts';

/** SAM's image embedding: [1, 256, 64, 64]. */
export const SAM_EMBEDDING_SHAPE = [1, 256, 64, 64] as const;
export const SAM_EMBEDDING_SIZE = 256 * 64 * 64;

export interface SamDecodeInput {
  readonly embedding: Float32Array;
  readonly prompt: DecoderPrompt;
  /** Low-res logits [256 × 256] from an earlier decode, or undefined. */
  readonly maskInput?: Float32Array;
  /** Slice height and width in pixels (the ONNX `orig_im_size`). */
  readonly sliceSize: readonly [number, number];
}

export interface SamDecodeOutput {
  /** Low-resolution mask logits [256 × 256], row-major over the padded 1024 image. */
  readonly lowRes: Float32Array;
  /** The decoder's own estimate of the mask's IoU. */
  readonly iou: number;
}

export interface SamRuntime {
  readonly name: BackendName;
  /**
   * Which image-encoder weights run here: absent for the base's, else an id of the adapted ones
   * (an encoder-LoRA adapter); embeddings carry over between runtimes with the same key and name.
   */
  readonly encoderKey?: string;
  /** Where each model runs and why (e.g. "encoder: WebGPU …; decoder: wasm"). */
  readonly reason: string;
  /** [1, 3, 1024, 1024] preprocessed image → embedding [1, 256, 64, 64]. */
  encode(image: Float32Array): Promise<Float32Array>;
  decode(input: SamDecodeInput): Promise<SamDecodeOutput>;
  dispose(): Promise<void>;
}

/** The decoder's feeds, by the SAM ONNX input names, as (data, dims) pairs for any ORT flavour. */
export function decoderFeeds(input: SamDecodeInput): Record<string, { data: Float32Array; dims: number[] }> {
  const { prompt, maskInput, sliceSize } = input;
  if (input.embedding.length !== SAM_EMBEDDING_SIZE) throw new Error(`embedding has ${input.embedding.length} values, expected 256 × 64 × 64`);
  return {
    image_embeddings: { data: input.embedding, dims: [...SAM_EMBEDDING_SHAPE] },
    point_coords: { data: prompt.coords, dims: [1, prompt.count, 2] },
    point_labels: { data: prompt.labels, dims: [1, prompt.count] },
    mask_input: { data: maskInput ?? new Float32Array(256 * 256), dims: [1, 1, 256, 256] },
    has_mask_input: { data: Float32Array.of(maskInput ? 1 : 0), dims: [1] },
    orig_im_size: { data: Float32Array.of(sliceSize[0], sliceSize[1]), dims: [2] },
  };
}

/** Checks that two sessions have SAM's ONNX interface; throws with what is missing. */
export function checkSamInterface(encoderInputs: readonly string[], decoderInputs: readonly string[], decoderOutputs: readonly string[]): void {
  if (encoderInputs.length !== 1) throw new Error(`the SAM image encoder should take one input, it takes ${encoderInputs.length}`);
  const need = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'];
  const missing = need.filter((n) => !decoderInputs.includes(n));
  if (missing.length) throw new Error(`the SAM decoder lacks the inputs ${missing.join(', ')} (not a segment_anything ONNX export)`);
  for (const o of ['iou_predictions', 'low_res_masks']) if (!decoderOutputs.includes(o)) throw new Error(`the SAM decoder lacks the output ${o}`);
}
