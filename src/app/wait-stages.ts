/**
 * The user's whole wait, from the drop (or a click) to the masks drawn in the viewer, split
 * into stages that add up to it (issue 13: "measured from the drop to the masks on screen,
 * model loading included; report the whole time honestly, by stage"). Pure: the studio
 * records the times, this only does the arithmetic and the wording.
 *
 * Times are ms on the page's clock (`performance.now()`). The worker reports durations on
 * its own clock and when it replied. A reply that waited for the page's thread, held by other
 * work (on a software WebGL, the viewer's drawing), counts as `page busy`; the rest of a round
 * trip beyond the worker's stages counts as `transfers`. After the worker has read the scan, the viewer
 * loads it while the worker segments: the later of the two is the one the user waited for,
 * and only that one is counted (the other ran beside it).
 */

/** A request to the worker and its reply, as the page saw them, with the worker's own stages. */
export interface WorkerTrip {
  /** When the page posted the request and when the reply reached its handler (page clock, ms). */
  readonly postedAt: number;
  readonly arrivedAt: number;
  /** The worker's stages in ms, by name (`WORKER_STAGE_GROUP`); their sum is at most the round trip. */
  readonly stagesMs: Readonly<Record<string, number>>;
  /** When the worker posted its reply (page clock, ms): a reply that waits for a busy page waits from here. */
  readonly repliedAt?: number;
}

/** What the studio recorded for one run (page clock, ms). */
export interface WaitTimeline {
  /** The drop, the click on the sample, or the click on Segment. */
  readonly startedAt: number;
  /** The file's bytes in the page (read from disk, or the sample downloaded); absent for Segment. */
  readonly readAt?: number;
  /** The worker decoding the scan; absent for Segment. */
  readonly open?: WorkerTrip;
  /** The viewer showed the scan; absent when it was already on screen. */
  readonly scanShownAt?: number;
  readonly segment: WorkerTrip;
  /** The masks were drawn (the frame after NiiVue took them). */
  readonly masksDrawnAt: number;
}

export type WaitStage =
  | 'reading'
  | 'decoding'
  | 'warm-up wait'
  | 'showing the scan'
  | 'localising'
  | 'segmenting'
  | 'pasting and checks'
  | 'transfers'
  | 'page busy'
  | 'drawing'
  | 'other';

/** Display order. */
const ORDER: readonly WaitStage[] = ['reading', 'decoding', 'warm-up wait', 'showing the scan', 'localising', 'segmenting', 'pasting and checks', 'transfers', 'page busy', 'drawing', 'other'];

/**
 * The worker's stage names (src/workers/inference-service.ts, and the pipelines' `timingsMs`:
 * infer/fullhead.ts, infer/pipeline.ts, infer/segment-scan.ts) in the groups the user sees.
 * `queued`: the worker was busy when the request came (before a drop, that is the warm-up:
 * session creation holds the worker's thread). Names not listed count as `other`.
 */
export const WORKER_STAGE_GROUP: Readonly<Record<string, WaitStage>> = {
  queued: 'warm-up wait',
  'model wait': 'warm-up wait',
  'template wait': 'warm-up wait',
  'localiser wait': 'warm-up wait',
  decode: 'decoding',
  localiser: 'localising',
  localise: 'localising',
  'cross-check wait': 'localising',
  'cross-check, second look': 'localising',
  crop: 'segmenting',
  'segment left': 'segmenting',
  'segment right': 'segmenting',
  preprocess: 'segmenting',
  inference: 'segmenting',
  paste: 'pasting and checks',
  postprocess: 'pasting and checks',
};

/** Stages that ran beside others (infer/segment-scan.ts: a cross-check localiser): not on the path waited on. */
const OVERLAPPED_STAGES: ReadonlySet<string> = new Set(['localiser, beside the rest']);

export interface WaitBreakdown {
  /** From the start to the masks on screen, ms. */
  readonly totalMs: number;
  /** Non-empty stages in display order; their ms add up to `totalMs`. */
  readonly stages: readonly { readonly stage: WaitStage; readonly ms: number }[];
  /** When the scan itself was on screen, ms after the start (absent when it already was). */
  readonly scanShownMs?: number;
}

/** Splits a run's wait into stages along the path the user waited on. */
export function waitBreakdown(t: WaitTimeline): WaitBreakdown {
  const sums = new Map<WaitStage, number>();
  const add = (stage: WaitStage, ms: number) => {
    if (ms > 0) sums.set(stage, (sums.get(stage) ?? 0) + ms);
  };
  // `at` walks the critical path; every step adds exactly what it advances.
  let at = t.startedAt;
  const advanceTo = (time: number, stage: WaitStage) => {
    add(stage, time - at);
    at = Math.max(at, time);
  };
  const trip = (w: WorkerTrip, pageBusy?: readonly [number, number]) => {
    advanceTo(w.postedAt, 'other');
    const roundTrip = Math.max(0, w.arrivedAt - at);
    let inWorker = 0;
    for (const [name, ms] of Object.entries(w.stagesMs)) {
      if (OVERLAPPED_STAGES.has(name)) continue;
      // A worker's stages can only fill its round trip (its clock and ours tick alike).
      const take = Math.min(Math.max(0, ms), roundTrip - inWorker);
      add(WORKER_STAGE_GROUP[name] ?? 'other', take);
      inWorker += take;
    }
    let transfers = roundTrip - inWorker;
    if (w.repliedAt !== undefined) {
      // A reply that came while the page was loading the scan into the viewer (NiiVue waits for
      // the GPU with the page's thread) waited for that, not for a transfer.
      if (pageBusy) {
        const waited = Math.min(w.arrivedAt, pageBusy[1]) - Math.max(w.repliedAt, pageBusy[0]);
        const loading = Math.min(Math.max(0, waited), transfers);
        add('showing the scan', loading);
        transfers -= loading;
      }
      // The rest of the time between the reply and its arrival, the page's thread was busy elsewhere.
      const held = Math.min(Math.max(0, w.arrivedAt - Math.max(w.repliedAt, pageBusy?.[1] ?? -Infinity, at)), transfers);
      add('page busy', held);
      transfers -= held;
    }
    add('transfers', transfers);
    at = Math.max(at, w.arrivedAt);
  };

  if (t.readAt !== undefined) advanceTo(t.readAt, 'reading');
  if (t.open) trip(t.open);
  // The viewer loads the scan while the worker segments: the later one is what was waited for.
  const scanFrom = at;
  if (t.scanShownAt !== undefined && t.scanShownAt > t.segment.arrivedAt) advanceTo(t.scanShownAt, 'showing the scan');
  else trip(t.segment, t.scanShownAt !== undefined ? [scanFrom, t.scanShownAt] : undefined);
  advanceTo(t.masksDrawnAt, 'drawing');

  const stages = ORDER.filter((s) => sums.has(s)).map((stage) => ({ stage, ms: sums.get(stage)! }));
  return {
    totalMs: Math.max(0, t.masksDrawnAt - t.startedAt),
    stages,
    ...(t.scanShownAt !== undefined ? { scanShownMs: t.scanShownAt - t.startedAt } : {}),
  };
}

/** What started the wait, in the words of the line. */
export type WaitStart = 'drop' | 'pick' | 'click' | 'segment';

const START_WORDS: Record<WaitStart, string> = { drop: 'the drop', pick: 'the file was picked', click: 'the click', segment: 'the run was started' };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * "Masks on screen 9.8 s after the drop: reading 0.3 s, …, drawing 0.4 s. The scan was on
 * screen after 2.1 s." The stages are rounded one by one, so their sum may differ from the
 * total by up to 0.05 s per stage.
 */
export function waitLine(b: WaitBreakdown, start: WaitStart): string {
  const parts = b.stages.map((s) => `${s.stage} ${seconds(s.ms)}`);
  const scan = b.scanShownMs !== undefined ? ` The scan was on screen after ${seconds(b.scanShownMs)}.` : '';
  return `Masks on screen ${seconds(b.totalMs)} after ${START_WORDS[start]}: ${parts.join(', ')}.${scan}`;
}
