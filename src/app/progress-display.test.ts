import { describe, expect, it } from 'vitest';
import { progressDisplay } from './progress-display';

describe('progressDisplay', () => {
  it('moves forward through the template, preprocessing, registration, every window, and postprocessing', () => {
    const stages = [
      progressDisplay({ stage: 'template' }),
      progressDisplay({ stage: 'preprocess' }),
      progressDisplay({ stage: 'localise' }),
      ...[0, 1, 2].map((index) => progressDisplay({ stage: 'window', index, total: 3 })),
      progressDisplay({ stage: 'postprocess' }),
      progressDisplay({ stage: 'done' }),
    ].map((p) => p.fraction);
    for (let i = 1; i < stages.length; i++) expect(stages[i]).toBeGreaterThan(stages[i - 1]);
    expect(stages.at(-1)).toBe(1);
  });

  it('names the window being run', () => {
    expect(progressDisplay({ stage: 'window', index: 1, total: 8 }).label).toBe('Model window 2 of 8');
  });
});
