/**
 * Full-head pipeline benchmark: `npm run bench -- pipeline [scan.nii.gz …] [--reps N]`.
 *
 * Times each stage from a dropped file to the two hippocampus crops, on the full-head
 * sample by default: read, classify, conformed grid, registration to the template
 * (pyramid, then 8 → 4 → 2 mm), hippocampus boxes, crop extraction. The template is
 * prepared once per session (worker start), so it is timed apart. Wall and CPU time are
 * both printed with the machine and its load, because wall time on a shared machine
 * measures the neighbours too. Each stage's figure is the median over the runs.
 *
 * Not yet here (they come with the trained models): segmentation of the two crops, the
 * paste back into the scan's grid, and the peer comparison with brainchop's MeshNet.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { classifyScan } from '../src/core/fullhead/detect';
import { conformedGrid } from '../src/core/fullhead/conform';
import { LEVELS_MM, localise, prepareTemplate } from '../src/core/fullhead/localise';
import { templateOutline } from '../src/core/fullhead/outline';
import { extractBox } from '../src/core/fullhead/roi';
import { readTemplate } from '../src/core/fullhead/template-node';
import { readVolume } from '../src/core/io';
import { dataDir } from '../src/testing/shared';

const args = process.argv.slice(2);
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 3;
const files = args.filter((a, n) => !a.startsWith('--') && (repsAt < 0 || n !== repsAt + 1));
const scans = files.length > 0 ? files : [join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz')];

interface Timing {
  wall: number;
  cpu: number;
}

/** Runs `f`, returning its result and the wall and CPU (user + system) milliseconds it took. */
function timed<T>(f: () => T): [T, Timing] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [out, { wall, cpu: (c.user + c.system) / 1000 }];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t: Timing) => `${t.wall.toFixed(0).padStart(7)} ${t.cpu.toFixed(0).padStart(7)}`;

console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('JavaScript on one CPU thread (no GPU stage exists yet).');
const [prepared, prep] = timed(() => prepareTemplate(readTemplate()));
console.log(`template: read + prepare once per session: wall ${prep.wall.toFixed(0)} ms, cpu ${prep.cpu.toFixed(0)} ms`);

for (const path of scans) {
  const bytes = new Uint8Array(readFileSync(path));
  const runs: Record<string, Timing>[] = [];
  let summary = '';
  for (let r = 0; r < reps; r++) {
    const row: Record<string, Timing> = {};
    const [scan, read] = timed(() => readVolume(bytes, path));
    row['read (gunzip + parse)'] = read;
    const [kind, classify] = timed(() => classifyScan(scan));
    row['classify'] = classify;
    row['conformed grid'] = timed(() => conformedGrid(scan))[1];
    const [loc, registration] = timed(() => localise(scan, prepared));
    row[`pyramid (${LEVELS_MM.join('/')} mm)`] = { wall: loc.timingsMs.pyramid, cpu: NaN };
    for (const level of loc.levels) row[`  level ${level.levelMm} mm (${level.iterations} it)`] = { wall: level.ms, cpu: NaN };
    row['  checks, boxes'] = { wall: loc.timingsMs['checks and boxes'], cpu: NaN };
    row['localise (all of the above)'] = registration;
    row['extract both crops'] = timed(() => loc.hippocampi.map((box) => extractBox(scan, box)))[1];
    row['outline overlay (UI, after)'] = timed(() => templateOutline(prepared.template, loc.transform, scan))[1];
    row['total: drop → crops'] = {
      wall: read.wall + classify.wall + registration.wall + row['extract both crops'].wall,
      cpu: read.cpu + classify.cpu + registration.cpu + row['extract both crops'].cpu,
    };
    runs.push(row);
    summary =
      `${kind.kind}, ${scan.dims.join('×')}; NCC ${loc.ncc.toFixed(3)} (brain ${loc.brainNcc.toFixed(3)}), ${loc.quality}; ` +
      `ICV ${(loc.icvMm3 / 1e6).toFixed(2)} L; boxes ${loc.hippocampi.map((b) => `${b.side} ${b.grid.dims.join('×')}`).join(', ')}` +
      (loc.problems.length ? `; problems: ${loc.problems.map((p) => p.message).join(' ')}` : '');
  }
  console.log(`\n${path}\n  ${summary}`);
  console.log(`  ${'stage'.padEnd(30)} ${'wall ms'.padStart(7)} ${'cpu ms'.padStart(7)}   (median of ${reps})`);
  for (const stage of Object.keys(runs[0])) {
    const wall = median(runs.map((r) => r[stage].wall));
    const cpu = median(runs.map((r) => r[stage].cpu));
    console.log(`  ${stage.padEnd(30)} ${ms({ wall, cpu }).replace('NaN', '  -')}`);
  }
}
console.log('\nnot yet measured: segmentation of the crops, paste back to the scan grid, brainchop MeshNet comparison.');
