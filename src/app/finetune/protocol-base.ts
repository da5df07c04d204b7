/**
 * The base the dock's training pairs call for: the model that Protocol: Auto segments such scans
 * with, as `seahorse finetune` picks its base when --model is left out (src/cli/finetune.ts). Full
 * heads with FreeSurfer's codes (or a map that names no protocol) are segmented by the
 * FreeSurfer-protocol model; the MSD-protocol model adapted to them from three heads ended 3.6
 * points below it (bench/fewshot/INVESTIGATION.md, "Which base to adapt from full heads").
 */
import type { ModelManifest } from '../../infer/manifest';
import { modelForProtocol } from '../../infer/protocol-choice';
import { adaptedProtocol, LabelMapError, parseLabelMap } from '../../train/label-map';
import type { PairCheck } from '../../workers/training-protocol';

/** The model the pairs call for, and what the pairs are (every checked one is the same). */
export interface ProtocolBase {
  readonly model: ModelManifest;
  readonly path: 'crop' | 'full-head';
}

/**
 * That model when it is not `base`, else null. Null too when `base` follows no protocol (a test
 * model, the user's own: adapting it is the point), when no pair has been checked, when the
 * pairs mix crops and full heads, or when the label map does not parse.
 */
export function protocolBase(models: readonly ModelManifest[], base: ModelManifest, labelMap: string, checks: readonly PairCheck[]): ProtocolBase | null {
  if (!base.protocol) return null;
  const checked = checks.flatMap((c) => (c.ok ? [c] : []));
  if (checked.length === 0) return null;
  const path = checked[0].path;
  if (checked.some((c) => c.path !== path)) return null;
  let text: string;
  try {
    text = parseLabelMap(labelMap).text;
  } catch (e) {
    if (e instanceof LabelMapError) return null;
    throw e;
  }
  const protocol = adaptedProtocol(undefined, text);
  try {
    const pick = modelForProtocol(models, base, { choice: protocol ?? 'auto', path, sublabels: checked.some((c) => c.space === 'classes') });
    return pick.id === base.id ? null : { model: pick, path };
  } catch {
    // No installed model of that protocol: the base is the only choice.
    return null;
  }
}
