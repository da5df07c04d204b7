/**
 * The optimiser-resume property on one engine: n steps straight, and k steps + `saveState` +
 * a fresh optimiser + `loadState` + (n − k) steps, from the same start on a small conv net.
 * One parameter never gets a gradient, so its state is the "not yet updated" kind.
 * `load: false` restarts the optimiser afresh instead (what a resume did before the state was saved).
 */
import { backward, conv3d, diceLoss, instanceNorm, leakyRelu, oneHot, randnArray, tidy, type Adam, type AdamState, type Engine, type Tensor } from '../index';

export interface ResumeRuns {
  readonly straight: Float64Array[];
  readonly resumed: Float64Array[];
  /** The state saved after k steps. */
  readonly saved: AdamState;
}

export async function trainStraightAndResumed(e: Engine, makeOpt: (params: Tensor[]) => Adam, n: number, k: number, opts = { load: true }): Promise<ResumeRuns> {
  const x = e.randn([1, 1, 5, 4, 4], { seed: 3 });
  const target = oneHot(e, Array.from({ length: 80 }, (_, i) => (i * 7) % 3), [1, 5, 4, 4], 3);
  const run = async (restartAfter: number | null) => {
    const params = [
      e.param(randnArray(108, 1), [4, 1, 3, 3, 3], 'w1'),
      e.param(randnArray(12, 2), [3, 4, 1, 1, 1], 'w2'),
      e.param([0.1, -0.2, 0.3], [3], 'b2'),
      e.param([1, 2], [2], 'unused'),
    ];
    const [w1, w2, b2] = params;
    let opt = makeOpt(params);
    let saved: AdamState | null = null;
    for (let s = 0; s < n; s++) {
      if (s === restartAfter) {
        saved = await opt.saveState();
        opt.dispose();
        opt = makeOpt(params);
        if (opts.load) opt.loadState(saved);
      }
      const loss = tidy(() => diceLoss(conv3d(leakyRelu(instanceNorm(conv3d(x, w1, null, { padding: 1 }))), w2, b2), target));
      backward(loss);
      loss.dispose();
      opt.step();
      opt.zeroGrad();
    }
    const values = await Promise.all(params.map(async (p) => Float64Array.from(await p.data())));
    opt.dispose();
    for (const p of params) p.dispose();
    return { values, saved };
  };
  const straight = await run(null);
  const resumed = await run(k);
  x.dispose();
  target.dispose();
  return { straight: straight.values, resumed: resumed.values, saved: resumed.saved! };
}
