/**
 * Reverse-mode autograd. Each op whose inputs need a gradient records a GradNode holding
 * its backward closure and the tensors it saved. Nodes are refcounted by the tensors that
 * carry them and by consumer nodes, so disposing the outputs of an unused graph frees it;
 * `backward` frees the graph it walks (like torch's retain_graph=False).
 */
import { DisposedError, ShapeError } from './errors';
import { fmt, sameShape } from './shape';
import { keep, tidy } from './scope';
import { shareStorage, Tensor } from './tensor';

let gradDepth = 0; // > 0 inside noGrad

/** Runs `fn` without recording a graph (inference, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}

export function isGradEnabled(): boolean {
  return gradDepth === 0;
}

/** Input gradients, one per op input (null where not needed). */
export type BackwardFn = (g: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[];

/** An input edge: the producing node, or the leaf parameter itself, or null (no grad). */
type Edge = GradNode | Tensor | null;

export class GradNode {
  private refs = 1;
  private backwardFn: BackwardFn | null;
  private saved: Tensor[];
  constructor(
    readonly op: string,
    readonly outShape: readonly number[],
    readonly inputs: readonly Edge[],
    backward: BackwardFn,
    saved: Tensor[],
  ) {
    this.backwardFn = backward;
    this.saved = saved;
    for (const e of inputs) if (e instanceof GradNode) e.refs++;
  }

  unref(): void {
    if (--this.refs > 0) return;
    this.free();
    for (const e of this.inputs) if (e instanceof GradNode) e.unref();
  }

  /** Drops the saved tensors and the closure; the node stays as a graph edge for refcounting. */
  free(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.backwardFn = null;
  }

  run(g: Tensor): readonly (Tensor | null)[] {
    if (!this.backwardFn) throw new DisposedError(`backward through "${this.op}": the graph was already freed by an earlier backward()`);
    return this.backwardFn(g, this.inputs.map((e) => e !== null));
  }
}

function needsGrad(t: Tensor): boolean {
  return t.requiresGrad || t.node !== null;
}

/** Saves a tensor for backward: a second handle on its storage, outside every scope. */
export type Saver = (t: Tensor) => Tensor;

/**
 * Attaches a backward to `out` when grad mode is on and some input needs a gradient.
 * `makeBackward` runs only then, so saving costs nothing in inference.
 */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], makeBackward: (save: Saver) => BackwardFn): Tensor {
  if (gradDepth > 0 || !inputs.some(needsGrad)) return out;
  const saved: Tensor[] = [];
  const save: Saver = (t) => {
    const s = shareStorage(t, t.shape, { untracked: true });
    saved.push(s);
    return s;
  };
  const backward = makeBackward(save);
  const edges: Edge[] = inputs.map((t) => (t.node ? t.node : t.requiresGrad ? t : null));
  out.node = new GradNode(op, out.shape, edges, backward, saved);
  return out;
}

function accumulateLeaf(leaf: Tensor, g: Tensor, add: (a: Tensor, b: Tensor) => Tensor): void {
  if (leaf.disposed) {
    g.dispose();
    return;
  }
  if (!sameShape(g.shape, leaf.shape)) throw new ShapeError(`backward: gradient ${fmt(g.shape)} does not match parameter ${leaf.describe()}`);
  if (!leaf.grad) {
    leaf.grad = keep(g);
    return;
  }
  const sum = keep(add(leaf.grad, g));
  leaf.grad.dispose();
  g.dispose();
  leaf.grad = sum;
}

/**
 * Back-propagates from `out` (a scalar unless `grad` is given) and accumulates into the
 * `grad` of every reachable leaf with requiresGrad. Frees the graph it walked.
 */
export function backward(out: Tensor, ops: { ones: (like: Tensor) => Tensor; add: (a: Tensor, b: Tensor) => Tensor }, grad?: Tensor): void {
  if (out.requiresGrad && !out.node) {
    accumulateLeaf(out, grad ? shareStorage(grad, grad.shape, { untracked: true }) : keep(noGrad(() => ops.ones(out))), ops.add);
    return;
  }
  const root = out.node;
  if (!root) throw new ShapeError(`backward: ${out.describe()} does not depend on any tensor with requiresGrad`);
  if (!grad && out.size !== 1) throw new ShapeError(`backward: ${out.describe()} is not a scalar; pass the output gradient`);
  if (grad && !sameShape(grad.shape, out.shape)) throw new ShapeError(`backward: gradient ${grad.describe()} does not match output ${out.describe()}`);

  // Topological order by iterative DFS (graphs can be thousands of nodes deep).
  const order: GradNode[] = [];
  const seen = new Set<GradNode>([root]);
  const stack: [GradNode, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const e = node.inputs[i];
      if (e instanceof GradNode && !seen.has(e)) {
        seen.add(e);
        stack.push([e, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }

  const grads = new Map<GradNode, Tensor>();
  noGrad(() => {
    grads.set(root, grad ? shareStorage(grad, grad.shape, { untracked: true }) : keep(ops.ones(out)));
    try {
      for (let n = order.length - 1; n >= 0; n--) {
        const node = order[n];
        const g = grads.get(node);
        grads.delete(node);
        if (!g) {
          node.free();
          continue;
        }
        const inGrads = tidy(() => node.run(g));
        g.dispose();
        node.free();
        node.inputs.forEach((e, i) => {
          const ig = inGrads[i];
          if (!ig) return;
          keep(ig);
          if (e instanceof GradNode) {
            if (!sameShape(ig.shape, e.outShape)) throw new ShapeError(`backward of "${node.op}": gradient ${fmt(ig.shape)} for an input of shape ${fmt(e.outShape)}`);
            const prev = grads.get(e);
            if (prev) {
              grads.set(e, keep(ops.add(prev, ig)));
              prev.dispose();
              ig.dispose();
            } else grads.set(e, ig);
          } else if (e instanceof Tensor) accumulateLeaf(e, ig, ops.add);
          else ig.dispose();
        });
      }
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  });
}
