// Appends one `npm run bench -- sam` result to bench/sam-synth/results.json as it finishes:
//   node bench/sam-synth/record.mjs <run name> <bench stdout .md> [train log]
// The mean-of-structures row of the bench's table becomes { "<subject> <mode>": Dice }; the training
// log's last "Loss" / timing lines are kept as they were printed. Nothing here is computed anew.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [name, benchFile, trainLog] = process.argv.slice(2);
if (!name || !benchFile) throw new Error('usage: node bench/sam-synth/record.mjs <run name> <bench stdout .md> [train log]');
const md = readFileSync(benchFile, 'utf8').split('\n');
const header = md.find((l) => l.startsWith('| structure |'));
const means = md.find((l) => l.startsWith('| **mean of'));
if (!header || !means) throw new Error(`${benchFile} holds no bench table`);
const cells = (l) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/\*\*/g, ''));
const cols = cells(header).slice(1);
const vals = cells(means).slice(1).map(Number);
const meanDice = Object.fromEntries(cols.map((c, i) => [c, vals[i]]));
const out = 'bench/sam-synth/results.json';
const results = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : [];
results.push({
  name,
  finished: new Date().toISOString(),
  bench: md.filter((l) => l.startsWith('Model:') || l.startsWith('Machine:') || l.startsWith('Command:')),
  training: trainLog ? readFileSync(trainLog, 'utf8').split('\n').filter((l) => /^(Model|Trained|Data +\d+ scans|Loss|Adapter|Time|Encoder)\b/.test(l)) : undefined,
  meanDice,
});
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(name, meanDice);
