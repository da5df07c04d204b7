/**
 * "Strict mode" for float32 gradient parity (fixtures README §6 items 3–4): the LeakyReLU
 * pre-activations that lie within 1e-4·std of 0 in the float64 reference can flip sign in
 * float32, switching the local slope between 1 and 0.01 and moving every deeper gradient by
 * several percent. This hook forces those elements' branch to the reference's sign, as a
 * composition of engine ops: y = leakyRelu(x)·(1 − m) + x·s, with m = 1 and s = the reference
 * slope at the listed elements (0 elsewhere). Forward values there change by < 1e-4·std.
 */
import { add, leakyRelu, mul, type Engine, type Tensor } from '../../engine';
import { LEAKY_SLOPE, type LeakyReluCall } from '../context';

export interface KinkCall {
  call: string;
  call_ordinal: number;
  shape: number[];
  near_kink: { flat_index: number; value_f64: number }[];
}

export function pinnedLeakyRelu(engine: Engine, calls: readonly KinkCall[]): (x: Tensor, call: LeakyReluCall) => Tensor | undefined {
  const byOrdinal = new Map(calls.map((c) => [c.call_ordinal, c]));
  return (x, call) => {
    const k = byOrdinal.get(call.ordinal);
    if (!k) throw new Error(`no kink record for LeakyReLU call ${call.ordinal} (${call.module})`);
    if (k.call !== call.module || k.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(`LeakyReLU call ${call.ordinal} is ${call.module} ${x.describe()}, the fixture has ${k.call} [${k.shape}]`);
    }
    if (k.near_kink.length === 0) return undefined;
    const keep = new Float32Array(x.size).fill(1);
    const slope = new Float32Array(x.size);
    for (const { flat_index, value_f64 } of k.near_kink) {
      keep[flat_index] = 0;
      slope[flat_index] = value_f64 > 0 ? 1 : LEAKY_SLOPE;
    }
    const kept = mul(leakyRelu(x, LEAKY_SLOPE), engine.tensor(keep, x.shape));
    return add(kept, mul(x, engine.tensor(slope, x.shape)));
  };
}
