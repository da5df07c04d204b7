import { describe, expect, it } from 'vitest';
import { waitBreakdown, waitLine, type WaitTimeline } from './wait-stages';

/** A drop at 1000 ms: read, decoded in the worker, then the worker segments while the viewer loads the scan. */
const timeline = (scanShownAt: number): WaitTimeline => ({
  startedAt: 1000,
  readAt: 1300,
  open: { postedAt: 1310, arrivedAt: 2210, stagesMs: { queued: 100, decode: 750 } },
  scanShownAt,
  segment: {
    postedAt: 2230,
    arrivedAt: 8230,
    stagesMs: { queued: 0, 'model wait': 0, 'template wait': 400, 'localiser wait': 0, localiser: 300, localise: 1500, crop: 30, 'segment left': 1800, 'segment right': 1700, paste: 200, other: 20 },
  },
  masksDrawnAt: 8730,
});

const sum = (stages: readonly { ms: number }[]) => stages.reduce((a, s) => a + s.ms, 0);

describe('waitBreakdown', () => {
  it('splits the wait along the path the user waited on: the worker, the scan shown beside it', () => {
    const b = waitBreakdown(timeline(4000));
    expect(b.totalMs).toBe(7730);
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    expect(Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]))).toEqual({
      reading: 300,
      decoding: 750,
      'warm-up wait': 500, // queued for the busy worker 100 + the template 400
      localising: 1800,
      segmenting: 3530,
      'pasting and checks': 200,
      transfers: 100, // the open's round trip 900 − 850 in the worker, the run's 6000 − 5950
      drawing: 500,
      other: 50, // 10 before the open was posted, 20 before the run was, 20 in the worker
    } satisfies Record<string, number>);
    expect(b.scanShownMs).toBe(3000);
  });

  it('a cross-check localiser that ran beside the registration: only its wait at the end is on the path', () => {
    const t = timeline(4000);
    const { localiser: _ran, ...rest } = t.segment.stagesMs;
    // The same run with the localiser beside the rest: 300 ms of it were still left after the paste.
    const beside = { ...rest, 'cross-check wait': 300, 'localiser, beside the rest': 2100 };
    const b = waitBreakdown({ ...t, segment: { ...t.segment, stagesMs: beside } });
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    const stages = Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]));
    expect(stages.localising).toBe(1500 + 300);
    expect(stages.transfers).toBe(100);
  });

  it("the cross-check's second look (after a disagreement) is on the path, as localising", () => {
    const t = timeline(4000);
    const { localiser: _ran, ...rest } = t.segment.stagesMs;
    const lookedAgain = { ...rest, 'cross-check wait': 100, 'cross-check, second look': 200, 'localiser, beside the rest': 2100 };
    const b = waitBreakdown({ ...t, segment: { ...t.segment, stagesMs: lookedAgain } });
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    const stages = Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]));
    expect(stages.localising).toBe(1500 + 100 + 200);
    expect(stages.other).toBe(50);
  });

  it('a reply that waited for the page loading the scan counts as showing the scan, not as a transfer', () => {
    const t = timeline(8000);
    // The worker replied at 8190 and the page took the reply at 8230, after drawing the scan until 8200.
    const b = waitBreakdown({ ...t, scanShownAt: 8200, segment: { ...t.segment, repliedAt: 8190 } });
    const stages = Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]));
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    expect(stages['showing the scan']).toBe(10); // 8190 → 8200 of the reply's 40 ms wait
    expect(stages['page busy']).toBe(30); // 8200 → 8230: the scan was shown, the page still held
    expect(stages.transfers).toBe(100 - 10 - 30);
  });

  it('a reply that waited for a page busy with other work after the scan was shown counts as page busy', () => {
    const t = timeline(4000);
    // The worker's stages came to 2450 ms and it replied at 4705; the page's thread took the reply at 8230.
    const { 'segment left': _l, 'segment right': _r, ...quick } = t.segment.stagesMs;
    const b = waitBreakdown({ ...t, segment: { ...t.segment, stagesMs: quick, repliedAt: 4705 } });
    const stages = Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]));
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    expect(stages['page busy']).toBe(8230 - 4705);
    expect(stages.transfers).toBe(50 + 25); // the open's 50, the run's 25 before its reply
    expect(stages['showing the scan']).toBeUndefined();
  });

  it('a reply taken at once leaves no page busy stage', () => {
    const t = timeline(4000);
    const b = waitBreakdown({ ...t, segment: { ...t.segment, repliedAt: 8230 } });
    expect(b.stages.map((s) => s.stage)).not.toContain('page busy');
    expect(b.stages.find((s) => s.stage === 'transfers')!.ms).toBe(100);
  });

  it('counts the viewer, not the worker, when the scan took longer to show than the masks to compute', () => {
    const b = waitBreakdown(timeline(8500));
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    const stages = Object.fromEntries(b.stages.map((s) => [s.stage, Math.round(s.ms)]));
    expect(stages['showing the scan']).toBe(8500 - 2210);
    expect(stages.drawing).toBe(230);
    expect(stages.segmenting).toBeUndefined();
  });

  it("never lets a worker's stages overfill its round trip (clock granularity): the sum stays the total", () => {
    const t = timeline(4000);
    const b = waitBreakdown({ ...t, open: { ...t.open!, stagesMs: { queued: 600, decode: 600 } } });
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    expect(b.stages.find((s) => s.stage === 'decoding')!.ms).toBe(300);
  });

  it('a run started from the panel: no reading or decoding, the scan already on screen', () => {
    const t = timeline(0);
    const b = waitBreakdown({ startedAt: 2220, segment: t.segment, masksDrawnAt: t.masksDrawnAt });
    expect(b.stages.map((s) => s.stage)).toEqual(['warm-up wait', 'localising', 'segmenting', 'pasting and checks', 'transfers', 'drawing', 'other']);
    expect(sum(b.stages)).toBeCloseTo(b.totalMs, 9);
    expect(b.scanShownMs).toBeUndefined();
  });
});

describe('waitLine', () => {
  it('says the total, each stage in display order, and when the scan itself showed', () => {
    expect(waitLine(waitBreakdown(timeline(4000)), 'drop')).toBe(
      'Masks on screen 7.7 s after the drop: reading 0.3 s, decoding 0.8 s, warm-up wait 0.5 s, localising 1.8 s, segmenting 3.5 s, pasting and checks 0.2 s, transfers 0.1 s, drawing 0.5 s, other 0.1 s. The scan was on screen after 3.0 s.',
    );
  });
});
