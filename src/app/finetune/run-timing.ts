/** Step rate and time left of a run, from its recent step durations. */
import type { RunView } from './store';

export interface RunTiming {
  readonly stepsPerMinute: number;
  /** null when the run is not training. */
  readonly secondsLeft: number | null;
}

export function runTiming(run: Pick<RunView, 'stepMs' | 'step' | 'totalSteps' | 'status'>): RunTiming | null {
  if (run.stepMs.length === 0) return null;
  const msPerStep = run.stepMs.reduce((a, b) => a + b, 0) / run.stepMs.length;
  const left = Math.max(0, run.totalSteps - run.step);
  return { stepsPerMinute: 60_000 / msPerStep, secondsLeft: run.status === 'training' ? (left * msPerStep) / 1000 : null };
}
