/**
 * LoRA-PT's t-SVD initialisation time: `npm run bench -- peft-tsvd [--rank 1] [--tol 1e-8]
 * [--weights random | <model.onnx>] [--small]`.
 *
 * The paper's UNETR-768 tensors (peft-methods.md §2.3): W_up 12×3072×768, W_sa 48×768×768,
 * W_down 12×768×3072. Per tensor: the stacked-axis DFT, then the top-r triplets of each of the
 * ⌊n3/2⌋+1 Fourier slices (restarted Lanczos; Jacobi for small slices), then the inverse DFT
 * of the factors. This is the CPU (JavaScript, one thread) implementation the browser worker
 * runs; the target is < 10 s for the whole model.
 *
 * Weights: `random` (default) draws every slice from torch's nn.Linear initialisation
 * U(±1/√in): an untrained model, whose flat Marchenko–Pastur spectrum is the slowest case for
 * Lanczos (tiny gaps at the top). A path to a MONAI UNETR ONNX export (external data beside it)
 * times its real weights instead. `--small` uses UNETR-384 sizes for a quick run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createCpuEngine, uniformStream } from '../src/engine';
import { readOnnxModel } from '../src/models/load';
import { UNETR } from '../src/models/unetr';
import { decodeModel, externalLocations } from '../src/onnx';
import { rfftStack } from '../src/peft/linalg/dft';
import { principalTSVD } from '../src/peft/tsvd';
import { loraptTensorSpecs, type LoraptTensorSpec } from '../src/peft/targets';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rank = Number(opt('rank', '1'));
const tol = Number(opt('tol', '1e-8'));
const weights = opt('weights', 'random');
const small = args.includes('--small');

function tensorsFor(): { specs: LoraptTensorSpec[]; read: (param: string) => Float32Array; what: string } {
  if (weights !== 'random') {
    if (!existsSync(weights)) throw new Error(`no such ONNX file: ${weights}`);
    const bytes = new Uint8Array(readFileSync(weights));
    const ext = new Map(externalLocations(decodeModel(bytes)).map((l) => [l, new Uint8Array(readFileSync(join(dirname(weights), l)))]));
    const { spec, source } = readOnnxModel(bytes, { externalData: ext, label: weights });
    if (spec.kind !== 'unetr') throw new Error(`${weights} is a ${spec.kind}; LoRA-PT needs a UNETR`);
    const m = new UNETR(createCpuEngine(), spec.config);
    return { specs: loraptTensorSpecs(m), read: (p) => source.read(p), what: `weights of ${weights}` };
  }
  const hidden = small ? 384 : 768;
  const m = new UNETR(createCpuEngine(), { inChannels: 1, outChannels: 2, imgSize: 128, hiddenSize: hidden, mlpDim: 4 * hidden, numHeads: 12 });
  const shapes = new Map(m.paramSpecs.map((s) => [s.name, s.shape]));
  return {
    specs: loraptTensorSpecs(m),
    read: (p) => {
      const [out, inp] = shapes.get(p)!;
      const u = uniformStream(p.length * 7919 + out);
      const bound = 1 / Math.sqrt(inp);
      return Float32Array.from({ length: out * inp }, () => (2 * u() - 1) * bound);
    },
    what: `random nn.Linear initialisation (untrained; UNETR-${hidden})`,
  };
}

const { specs, read, what } = tensorsFor();
const cpuTime = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rows: string[][] = [['tensor', 'shape (n3×n1×n2)', 'DFT s', 'SVD+IDFT s', 'wall s', 'CPU s', 'max residual', 'converged']];
let wallTotal = 0;
let cpuTotal = 0;
for (const spec of specs) {
  const cache = new Map<string, Float32Array>();
  const slices = spec.slices.map((s) => {
    if (!cache.has(s.param)) cache.set(s.param, read(s.param));
    return cache.get(s.param)!.subarray(s.rows[0] * spec.n2, s.rows[1] * spec.n2);
  });
  const t0 = performance.now();
  rfftStack(slices, spec.n1 * spec.n2); // timed alone for the table; principalTSVD repeats it
  const dft = performance.now() - t0;
  const t1 = performance.now();
  const c1 = cpuTime();
  const f = principalTSVD(slices, spec.n1, spec.n2, rank, { tol, what: spec.name });
  const wall = performance.now() - t1;
  const cpu = cpuTime() - c1;
  wallTotal += wall;
  cpuTotal += cpu;
  rows.push([spec.name, `${spec.slices.length}×${spec.n1}×${spec.n2}`, (dft / 1000).toFixed(2), ((wall - dft) / 1000).toFixed(2), (wall / 1000).toFixed(2), (cpu / 1000).toFixed(2), f.maxResidual.toExponential(1), String(f.converged)]);
}
rows.push(['total', '', '', '', (wallTotal / 1000).toFixed(2), (cpuTotal / 1000).toFixed(2), '', '']);

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`LoRA-PT t-SVD, rank ${rank}, Lanczos tolerance ${tol}, ${what}`);
console.log(`Device: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} logical cores; this runs on one), Node ${process.version}`);
console.log(rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n'));
console.log(`Target: < 10 s for the whole model. Wall time includes waiting for the CPU when the machine is shared; CPU time does not.`);
