/**
 * "Strict mode" for float32 gradient parity (fixtures README §6 items 3–4): the LeakyReLU
 * pre-activations that lie within 1e-4·std of 0 in the float64 reference can flip sign in
 * float32, switching the local slope between 1 and 0.01 and moving every deeper gradient by
 * several percent. This hook forces those elements' branch to the reference's sign, as a
 * composition of engine ops: y = leakyRelu(x)·(1 − m) + x·s, with m = 1 and s = the reference
 * slope at the listed elements (0 elsewhere). Forward values there change by < 1e-4·std.
 */
import { add, keep, leakyRelu, mul, noGrad, reshape, type Engine, type Tensor } from '../../engine';
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

/**
 * The LeakyReLU calls of a kink list that also records other activations (hyps.json → kinks
 * lists the 36 HyPS adapter ReLUs first, ordinals 0–35), renumbered in forward order as the
 * model's `leakyRelu` hook counts them.
 */
export function leakyReluCalls(calls: readonly KinkCall[]): (KinkCall & { fixture_ordinal: number })[] {
  return [...calls]
    .sort((a, b) => a.call_ordinal - b.call_ordinal)
    .filter((c) => c.call.endsWith('.lrelu'))
    .map((c, i) => ({ ...c, call_ordinal: i, fixture_ordinal: c.call_ordinal }));
}

export interface KinkFlip {
  call: string;
  /** The fixture's ordinal of the call (`kinks.per_call[].call_ordinal`). */
  ordinal: number;
  flatIndex: number;
  valueF64: number;
  value: number;
}

/**
 * A LeakyReLU hook that leaves the op as it is (returns undefined) and keeps the pre-activations
 * of the calls with near-kink elements; `flips()` then lists the near-kink elements this engine
 * put on the other side of 0 from the float64 reference. `calls` in the model's LeakyReLU order
 * (`leakyReluCalls`); `fixtureOrdinal` maps back to the fixture's numbering for the report.
 */
export function recordKinkFlips(calls: readonly KinkCall[], fixtureOrdinal: (i: number) => number = (i) => i) {
  const held: { i: number; t: Tensor }[] = [];
  return {
    hook: (x: Tensor, call: LeakyReluCall): undefined => {
      if (calls[call.ordinal]?.near_kink.length) held.push({ i: call.ordinal, t: keep(noGrad(() => reshape(x, x.shape))) });
    },
    async flips(): Promise<KinkFlip[]> {
      const out: KinkFlip[] = [];
      for (const { i, t } of held) {
        const v = await t.data();
        t.dispose();
        for (const k of calls[i].near_kink) {
          if (v[k.flat_index] > 0 !== k.value_f64 > 0) out.push({ call: calls[i].call, ordinal: fixtureOrdinal(i), flatIndex: k.flat_index, valueF64: k.value_f64, value: v[k.flat_index] });
        }
      }
      held.length = 0;
      return out;
    },
  };
}
