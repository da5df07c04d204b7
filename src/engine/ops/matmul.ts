import { record } from '../autograd';
import { ShapeError } from '../errors';
import { broadcastShapes, sizeOf, stridesOf } from '../shape';
import type { Tensor } from '../tensor';
import { add } from './elementwise';
import { reshapeRaw, sumTo } from './reduce';
import { backendOf, checkOut, result } from './util';

export interface MatmulOptions {
  /** Use A's last two axes transposed (A stored [..., K, M]). */
  transA?: boolean;
  /** Use B's last two axes transposed (B stored [..., N, K]), e.g. a torch Linear weight. */
  transB?: boolean;
}

function batchStrides(t: Tensor, batch: readonly number[]): number[] {
  const own = t.shape.slice(0, -2);
  const mat = t.shape[t.rank - 2] * t.shape[t.rank - 1];
  const st = stridesOf(own).map((s) => s * mat);
  const off = batch.length - own.length;
  return batch.map((_, i) => (i < off || own[i - off] === 1 ? 0 : st[i - off]));
}

/** Batched matrix product op(a)·op(b) with NumPy broadcasting over the leading axes. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const be = backendOf('matmul', a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul: operands need rank ≥ 2, got ${a.describe()} and ${b.describe()}`);
  const M = a.shape[a.rank - (transA ? 1 : 2)];
  const K = a.shape[a.rank - (transA ? 2 : 1)];
  const Kb = b.shape[b.rank - (transB ? 1 : 2)];
  const N = b.shape[b.rank - (transB ? 2 : 1)];
  if (K !== Kb) {
    throw new ShapeError(`matmul: inner dimensions differ: ${a.describe()}${transA ? 'ᵀ' : ''} · ${b.describe()}${transB ? 'ᵀ' : ''} (${K} vs ${Kb})`);
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), `matmul batch axes of ${a.describe()} and ${b.describe()}`);
  const shape = [...batch, M, N];
  checkOut('matmul', be, sizeOf(shape), shape);
  const s = be.matmul(a.storage, b.storage, {
    batchShape: batch,
    aBatchStrides: batchStrides(a, batch),
    bBatchStrides: batchStrides(b, batch),
    M,
    N,
    K,
    transA,
    transB,
  });
  const out = result(be, s, shape);
  return record('matmul', out, [a, b], (save) => {
    const sa = save(a);
    const sb = save(b);
    return (g, needs) => {
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (needs[0]) {
        ga = transA ? matmul(sb, g, { transA: transB, transB: true }) : matmul(g, sb, { transB: !transB });
        ga = sumTo(ga, a.shape);
      }
      if (needs[1]) {
        if (b.rank === 2 && a.rank > 2 && !transA) {
          // Fold a's batch into M so a broadcast weight's gradient is one GEMM, not a batch of them.
          const a2 = reshapeRaw(sa, [sizeOf(a.shape.slice(0, -1)), K]);
          const g2 = reshapeRaw(g, [a2.shape[0], N]);
          gb = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
        } else {
          gb = transB ? matmul(g, sa, { transA: true, transB: transA }) : matmul(sa, g, { transA: !transA });
          gb = sumTo(gb, b.shape);
        }
      }
      return [ga, gb];
    };
  });
}

/** torch.nn.Linear: x [..., in] · wᵀ + bias, w [out, in]. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  if (w.rank !== 2 || x.shape[x.rank - 1] !== w.shape[1]) throw new ShapeError(`linear: input ${x.describe()} does not match weight ${w.describe()} ([out, in])`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new ShapeError(`linear: bias ${bias.describe()} does not match weight ${w.describe()}`);
  const y = matmul(x, w, { transB: true });
  if (!bias) return y;
  const z = add(y, bias);
  y.dispose();
  return z;
}

