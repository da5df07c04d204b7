import type { Progress } from '../infer/progress';

/**
 * A progress event as a bar position and a label. Sliding windows dominate the run time, so
 * they get the span between the short preparation steps (on a full head: the template and
 * the registration) and postprocessing.
 */
const windowsStart = 0.1;
const windowsEnd = 0.9;

export function progressDisplay(progress: Progress): { fraction: number; label: string } {
  switch (progress.stage) {
    case 'template':
      return { fraction: 0.02, label: 'Loading the brain template' };
    case 'preprocess':
      return { fraction: 0.05, label: 'Preparing the scan' };
    case 'localise':
      return { fraction: 0.07, label: 'Finding the hippocampi (registration to the brain template)' };
    case 'window': {
      const done = Math.min(progress.index + 1, progress.total) / Math.max(progress.total, 1);
      return {
        fraction: windowsStart + (windowsEnd - windowsStart) * done,
        label: `Model window ${Math.min(progress.index + 1, progress.total)} of ${progress.total}`,
      };
    }
    case 'postprocess':
      return { fraction: 0.95, label: 'Building the masks' };
    case 'done':
      return { fraction: 1, label: 'Done' };
  }
}
