import { backward as run, noGrad, isGradEnabled } from './autograd';
import { add } from './ops/elementwise';
import type { Tensor } from './tensor';
import { wrap } from './tensor';

const ones = (like: Tensor): Tensor => wrap(like.backend, like.backend.fill(like.size, 1, 'ones'), like.shape);

/**
 * Back-propagates from a scalar `loss` (or from `out` with output gradient `grad`) and
 * accumulates into `.grad` of every reachable parameter. Frees the graph it walked.
 */
export function backward(out: Tensor, grad?: Tensor): void {
  run(out, { ones, add }, grad);
}

export { noGrad, isGradEnabled };
