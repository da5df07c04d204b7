import { describe, expect, it } from 'vitest';
import { runTiming } from './run-timing';

describe('runTiming', () => {
  it('rate from the mean recent step, time left only while training', () => {
    expect(runTiming({ stepMs: [], step: 0, totalSteps: 10, status: 'training' })).toBeNull();
    expect(runTiming({ stepMs: [1000, 3000], step: 4, totalSteps: 10, status: 'training' })).toEqual({ stepsPerMinute: 30, secondsLeft: 12 });
    expect(runTiming({ stepMs: [2000], step: 4, totalSteps: 10, status: 'paused' })).toEqual({ stepsPerMinute: 30, secondsLeft: null });
  });
});
