/**
 * `seahorse finetune`'s checkpoints on disk (both the engine models' path and SAM's): where
 * they go, how often, written so that a crash mid-write leaves the previous one whole, read
 * back with a clear refusal when the file is broken or belongs to another run, and Ctrl-C /
 * SIGTERM (a cluster's time limit) turned into "stop after this step and save".
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, runMismatch, type TrainingCheckpoint } from '../train/checkpoint-file';
import { UsageError } from './usage';

/** The default checkpoint is the adapter's path with this appended. */
export const CHECKPOINT_SUFFIX = '.checkpoint';

/**
 * Steps between checkpoints by default: a crash loses at most this many steps. A checkpoint
 * reads the trained tensors and Adam's moments (2–3× as many values) to the host and writes
 * them (2.1 MB for the tiny UNETR with LoRA-PT, 48 MB for SAM's decoder), so it is not taken
 * every step. A choice, not a measured optimum (the studio's dock saves every 5 steps, to
 * browser storage).
 */
export const DEFAULT_CHECKPOINT_EVERY = 10;

/** Exit status of a run stopped by SIGINT / SIGTERM after saving its checkpoint (128 + SIGINT's 2, as shells report Ctrl-C). */
export const STOPPED_STATUS = 130;

export function checkpointPath(output: string, given: string | undefined): string {
  return given ?? `${output}${CHECKPOINT_SUFFIX}`;
}

/** `--checkpoint-every`: a non-negative integer; 0 writes no checkpoint. */
export function checkpointEvery(v: string | undefined, usage: string): number {
  if (v === undefined) return DEFAULT_CHECKPOINT_EVERY;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--checkpoint-every must be a non-negative integer (0: no checkpoints), got "${v}"`, usage);
  return n;
}

/** Writes the checkpoint beside its final path, flushes it, then renames it into place (atomic on one file system). */
export async function writeCheckpointFile(path: string, c: TrainingCheckpoint): Promise<void> {
  const bytes = await encodeCheckpoint(c);
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

export async function readCheckpointFile(path: string): Promise<TrainingCheckpoint> {
  if (!existsSync(path)) throw new Error(`checkpoint file not found: ${path}`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), `checkpoint file ${basename(path)}`);
}

/** Refuses to resume a checkpoint with other settings than its run's, naming each difference. */
export function refuseOtherRun(saved: TrainingCheckpoint, run: Record<string, unknown>, path: string): void {
  const diff = runMismatch(saved.run, run);
  if (diff.length) {
    throw new Error(
      `checkpoint ${basename(path)} is of a run with other settings, so resuming it would not continue that run:\n  ${diff.join('\n  ')}\nResume with the checkpoint's settings, or leave out --resume to start afresh.`,
    );
  }
}

/** Removes a finished run's checkpoint (its adapter holds the result). */
export function removeCheckpoint(path: string): void {
  rmSync(path, { force: true });
}

/**
 * A run's checkpoint file: it becomes the run's own once the run writes it or resumed from it,
 * and only then does `removeIfOwned` delete it (a fresh run that never reached a checkpoint
 * leaves an earlier run's file alone).
 */
export class RunCheckpoint {
  private owned: boolean;

  constructor(readonly path: string, resumedFrom: string | null) {
    this.owned = resumedFrom === path;
  }

  async write(c: TrainingCheckpoint): Promise<void> {
    this.owned = true;
    await writeCheckpointFile(this.path, c);
  }

  removeIfOwned(): void {
    if (this.owned) removeCheckpoint(this.path);
  }
}

/**
 * Until `dispose`, the first SIGINT or SIGTERM aborts the returned signal: the run stops at the
 * start of a step and saves. Node handles the signal when its event loop polls, which the
 * training loop's macrotask yield (setTimeout 0) does not always reach before the next step
 * starts, so the stop comes one or two steps after the signal. A second signal kills the
 * process as usual (the handlers are installed once).
 */
export function stopOnSignals(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
