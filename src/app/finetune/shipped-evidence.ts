/**
 * The few-shot benchmark's slices as the studio ships them, for the three target domains:
 * fewshot-evidence.json, written by `npm run bench -- fewshot-evidence` (shippedEvidenceSlices;
 * src/train/fewshot-evidence.test.ts checks it against bench/fewshot/results.json). JSON's inferred
 * type (a union of literal shapes, each slice with its own model ids) does not compare with the
 * generator's, hence the cast through unknown; the test keeps the file to the generator's output.
 */
import type { FewshotEvidence } from '../../train/fewshot-evidence';
import FEWSHOT_EVIDENCE from './fewshot-evidence.json' with { type: 'json' };

export const SHIPPED_EVIDENCE = FEWSHOT_EVIDENCE as unknown as readonly FewshotEvidence[];
