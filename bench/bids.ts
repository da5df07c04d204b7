/**
 * BIDS App throughput: `npm run bench -- bids [--copies N] [--configs 1x1,2x1]`.
 *
 * Runs `seahorse bids … participant` on a cohort made from the shared full heads (brainchop's
 * sample, Colin27, bert — each copied N times as separate participants) for each
 * configuration P×T (P worker processes, T onnxruntime threads each), from cold (model load
 * and start-up included), and prints scans per hour per core: from wall time × the P·T cores
 * used, and from the CPU time the run consumed (steadier on a shared machine). Then the
 * cost of a 10,000-scan cohort at that rate. Needs ../shared.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBidsDataset } from '../src/testing/bids-dataset';
import { hasShared, sharedMissing } from '../src/testing/shared';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const COPIES = Number(opt('--copies', '2'));
const CONFIGS = opt('--configs', '1x1,2x1').split(',').map((c) => c.split('x').map(Number) as [number, number]);
const COHORT = 10_000;

if (!hasShared) {
  console.error(sharedMissing);
  process.exit(1);
}

/** CPU seconds of this process's waited-for children (and theirs): /proc/self/stat cutime + cstime. */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // After "pid (comm) ", field 3 is index 0: cutime and cstime are fields 16 and 17, clock ticks (USER_HZ = 100 on Linux).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const work = mkdtempSync(join(tmpdir(), 'seahorse-bench-bids-'));
const ds = join(work, 'ds');
makeBidsDataset(ds, ['01', '02', '03']);
// Copies as further participants: sub-01c1, sub-02c1, …
for (let c = 1; c < COPIES; c++) {
  for (const [sub, rel] of [['01', 'sub-01/anat/sub-01'], ['02', 'sub-02/ses-01/anat/sub-02_ses-01'], ['03', 'sub-03/anat/sub-03']]) {
    const dst = rel.replace(new RegExp(`sub-${sub}`, 'g'), `sub-${sub}c${c}`);
    cpSync(join(ds, `${rel}_T1w.nii.gz`), join(ds, `${dst}_T1w.nii.gz`));
  }
}
const scans = 3 * COPIES;
const rows: string[][] = [];
for (const [p, t] of CONFIGS) {
  const out = join(work, `out-${p}x${t}`);
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/seahorse.mjs', 'bids', ds, out, 'participant', '--n-procs', String(p), '--omp-nthreads', String(t)], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childCpuSeconds() - cpu0;
  if (r.status !== 0) throw new Error(`seahorse bids failed (${r.status}): ${r.stderr}`);
  const cores = p * t;
  const perCoreWall = (scans / wall) * 3600 / cores;
  const perCpuHour = (scans / cpu) * 3600;
  rows.push([`${p}×${t}`, String(scans), wall.toFixed(1), cpu.toFixed(1), (wall / scans).toFixed(1), perCoreWall.toFixed(0), perCpuHour.toFixed(0)]);
}
rmSync(work, { recursive: true, force: true });

const header = ['procs×threads', 'scans', 'wall s', 'CPU s', 'wall s/scan', 'scans/h/core (wall)', 'scans/CPU-hour'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i])).join('  ');
console.log(`CPU: ${cpus()[0]?.model} × ${cpus().length}; load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`Cohort: ${scans} full-head T1s (brainchop sample, Colin27, bert; ${COPIES} copies each), model: the BIDS App's default`);
console.log([line(header), ...rows.map(line)].join('\n'));
const best = Math.max(...rows.map((r) => Number(r[6])));
console.log(`\n${COHORT.toLocaleString('en')} scans at ${best.toFixed(0)} scans per CPU-hour: ${(COHORT / best).toFixed(0)} CPU-hours.`);
