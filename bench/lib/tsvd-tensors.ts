/**
 * LoRA-PT's three UNETR tensors with reproducible random weights, and the timing of their
 * t-SVD; shared by `npm run bench -- peft-tsvd` (Node) and its browser worker, so both time
 * the same matrices with the same code.
 */
import { uniformStream } from '../../src/engine/engine';
import { rfftStack } from '../../src/peft/linalg/dft';
import type { SvdPool } from '../../src/peft/linalg/svd-pool';
import type { LoraptTensorSpec } from '../../src/peft/targets';
import { principalTSVD, type PrincipalFactors } from '../../src/peft/tsvd';

export interface TsvdTiming {
  /** Where the slices were decomposed, e.g. "serial" or "pool of 2". */
  mode: string;
  tensor: string;
  shape: string;
  /** The stacked-axis DFT alone (principalTSVD repeats it; timed for the table). */
  dftS: number;
  /** principalTSVD: DFT, the Fourier slices' SVDs, inverse DFT of the factors. */
  wallS: number;
  /** Process CPU time, all threads (Node only). */
  cpuS: number | null;
  residual: number;
  converged: boolean;
  /** Whether Ur, Sr, Vr equal the reference run's bit for bit (null: this is the reference). */
  identical: boolean | null;
}

/** torch's nn.Linear initialisation U(±1/√in) for weight `param` [out, in], seeded by its name. */
export function randomLinearWeight(param: string, out: number, inp: number): Float32Array {
  const u = uniformStream(param.length * 7919 + out);
  const bound = 1 / Math.sqrt(inp);
  return Float32Array.from({ length: out * inp }, () => (2 * u() - 1) * bound);
}

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/**
 * Times the three tensors' t-SVD on `pool` (its workers' start-up falls in the first tensor's
 * time, as in `computeLoraptFactors`); compares the factors with `reference` when given.
 */
export async function timeTsvds(
  specs: readonly LoraptTensorSpec[],
  read: (param: string) => Float32Array,
  rank: number,
  tol: number | undefined,
  cpuMs: (() => number) | null,
  mode: string,
  pool: SvdPool,
  reference?: readonly PrincipalFactors[],
): Promise<{ timings: TsvdTiming[]; factors: PrincipalFactors[] }> {
  const timings: TsvdTiming[] = [];
  const factors: PrincipalFactors[] = [];
  for (const [i, spec] of specs.entries()) {
    const cache = new Map<string, Float32Array>();
    const slices = spec.slices.map((s) => {
      if (!cache.has(s.param)) cache.set(s.param, read(s.param));
      return cache.get(s.param)!.subarray(s.rows[0] * spec.n2, s.rows[1] * spec.n2);
    });
    const t0 = performance.now();
    rfftStack(slices, spec.n1 * spec.n2);
    const dft = performance.now() - t0;
    const c1 = cpuMs?.() ?? 0;
    const t1 = performance.now();
    const f = await principalTSVD(slices, spec.n1, spec.n2, rank, { tol, what: spec.name, pool });
    const wall = performance.now() - t1;
    const ref = reference?.[i];
    factors.push(f);
    timings.push({
      mode,
      tensor: spec.name,
      shape: `${spec.slices.length}×${spec.n1}×${spec.n2}`,
      dftS: dft / 1000,
      wallS: wall / 1000,
      cpuS: cpuMs ? (cpuMs() - c1) / 1000 : null,
      residual: f.maxResidual,
      converged: f.converged,
      identical: ref ? sameBits(f.ur.data, ref.ur.data) && sameBits(f.sr.data, ref.sr.data) && sameBits(f.vr.data, ref.vr.data) : null,
    });
  }
  return { timings, factors };
}
