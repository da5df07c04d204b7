/**
 * Fine-tuning defaults of the studio and `seahorse finetune`, from the measured few-shot runs in
 * bench/fewshot (SwinUNETR on the CPU engine, k = 10 scans, 6 held-out scans, one seed):
 * - lr 1e-4: the only rate at which no run lost Dice against the base. Same decoder-only run,
 *   3 steps: 1e-3 lost 3.9 points (RESULTS.md, main grid), 3e-4 over 8 steps lost 1.5
 *   (probes/probe-8steps), 1e-4 lost 0.1 (probes/lr1e-4). INVESTIGATION.md: Adam moves every
 *   trainable parameter by about lr in its first steps, too much for a converged model at 1e-3.
 * - 15 steps at batch 1: the longest measured run at that rate (probes/final-model-lr1e-4,
 *   final SwinUNETR): HyPS without decoder 0.839 (zero-shot 0.839), decoder only 0.835.
 *   Every measured run used batch 1. None of them improved on the base: these defaults are
 *   the ones measured not to hurt, not ones shown to help.
 */

/** bench/fewshot/probes/lr1e-4 and final-model-lr1e-4 (see above). */
export const DEFAULT_LR = 1e-4;
/** bench/fewshot/probes/final-model-lr1e-4: 15 steps. */
export const DEFAULT_STEPS = 15;
/** Every bench/fewshot run: batch 1. */
export const DEFAULT_BATCH = 1;
