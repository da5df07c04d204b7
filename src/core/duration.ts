/** Durations for progress lines: how long is left, in words. */

/** Seconds under 90 s, minutes under 90 min, else hours. */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The time left at the mean rate so far: `done` of `total` items took `elapsedMs`. */
export function secondsLeft(elapsedMs: number, done: number, total: number): number {
  if (!(done > 0) || !(total >= done)) throw new Error(`no rate from ${done} of ${total} items done`);
  return ((total - done) * elapsedMs) / done / 1000;
}
