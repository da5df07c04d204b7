/**
 * How far a fine-tuning run's adapter can be trusted beyond the scans it trained on, in words for
 * the person who ran it. An adapter that scores below its base on held-out scans is said to; one
 * that nothing scored is said to be unvalidated. Adapting on one real scan moved the other real
 * subject's Dice by −10.2 to +3.7 points (bench/fewshot/INVESTIGATION.md, "Which base to adapt
 * from full heads"), so a one-scan run says that too.
 */
import type { ValidationScore } from './validate';

export interface RunValidation {
  readonly cases: number;
  readonly before: ValidationScore;
  readonly after: ValidationScore;
}

export interface AdaptationCaution {
  readonly level: 'warning' | 'note';
  readonly message: string;
}

const ONE_SCAN =
  'Adapted from one scan, it can move other people’s Dice either way: from −10 to +4 points between the two real subjects of bench/fewshot/INVESTIGATION.md.';

/** How to validate, in the words of where the run was made. */
export const HOW_TO_VALIDATE = {
  cli: '--val <dir> scores the base and the adapted model on such scans; so does seahorse eval --adapter on other labelled scans',
  studio: 'mark a pair Val to hold it out: the run then scores the base and the adapted model on it',
} as const;

export function adaptationCautions(trainingScans: number, validation: RunValidation | null | undefined, how: keyof typeof HOW_TO_VALIDATE): AdaptationCaution[] {
  if (!validation) {
    const message = `Not validated: nothing scored this adapter on scans it did not train on (${HOW_TO_VALIDATE[how]}).`;
    return [{ level: 'note', message: trainingScans === 1 ? `${message} ${ONE_SCAN}` : message }];
  }
  const { before, after, cases } = validation;
  if (Number.isFinite(before.dice) && Number.isFinite(after.dice) && after.dice < before.dice) {
    return [
      {
        level: 'warning',
        message:
          `The adapted model scores below its base on the ${cases} validation scan${cases === 1 ? '' : 's'} (Dice ${before.dice.toFixed(3)} → ${after.dice.toFixed(3)}): ` +
          'it fits the training scans at the expense of others. Keep the base for scans like these, or adapt on more scans.',
      },
    ];
  }
  return [];
}
