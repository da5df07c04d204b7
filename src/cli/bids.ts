/**
 * `seahorse bids <bids_dir> <output_dir> participant|group`: the BIDS App (BIDS Apps
 * command line, Gorgolewski et al. 2017). The participant level segments every T1w image
 * and writes BIDS-Derivatives; the group level gathers them into one table and a QC report.
 * The BIDS logic is in src/bids/ (pure); this file reads and writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { BIDS_IGNORE, datasetDescription, derivativePaths, sameModel, type ModelIdentity } from '../bids/derivatives';
import { normaliseLabel } from '../bids/entities';
import { listDataset, readJson, readJsonIfExists, writeAtomic } from '../bids/fs-node';
import { covariatesFrom, GROUP_COLUMN_DESCRIPTIONS, groupTable, type GroupInput } from '../bids/group';
import { findT1wScans, participantLabels, unknownLabels, type T1wScan } from '../bids/layout';
import { qcReportHtml } from '../bids/qc-report';
import { measuresFromSidecar } from '../bids/record';
import { formatTsv, parseTsv } from '../bids/tsv';
import { SIDE_LABELS } from '../infer/fullhead';
import { readAdapterFile } from './adapter';
import { parse } from './args';
import { runPool } from './bids-pool';
import { chooseModel, isFinished, openModel, processScan, runContext, SEAHORSE_VERSION, threadsPerWorker, type ScanJob, type ScanOutcome } from './bids-scan';
import { num } from './format';
import type { CliIO } from './main';
import { ExitStatus, UsageError } from './usage';

export const BIDS_USAGE = `Usage: seahorse bids <bids_dir> <output_dir> participant|group
                     [--participant-label <label> …] [--session <label> …]
                     [--model <id | model.onnx>] [--protocol msd|freesurfer] [--adapter <file>]
                     [--n-procs <N>] [--omp-nthreads <T>] [--overwrite]

A BIDS App. The participant level finds each T1w image (sub-<label>/[ses-<label>/]anat/
*_T1w.nii[.gz]) and writes, as BIDS-Derivatives in <output_dir>:
  sub-X/[ses-Y/]anat/sub-X_[ses-Y_]space-T1w_desc-hippocampus_dseg.nii.gz  labels (1 left, 2 right)
  …_dseg.json        model, version, protocol, volumes, QC (registration, warnings, flags)
  …_volumes.tsv      volume per label, mm³ and fraction of the intracranial volume
  sub-X/figures/…_desc-hippocampus_mosaic.png   QC slices (axial, coronal, sagittal per side)
  dataset_description.json (DatasetType derivative, GeneratedBy)
A scan that fails is recorded in logs/<scan>_error.json and the rest carry on.
Finished scans are skipped, so an interrupted run continues where it stopped.

The group level writes hippocampus_volumes.tsv (one row per subject and session: left,
right, total, ICV, ICV-normalised volumes, robust z-score, QC flags, error, and the
participants.tsv columns such as age, sex, diagnosis), its JSON column descriptions, and
qc_report.html (a mosaic per scan, flagged and outlying scans first).

Options:
  --participant-label <l> …  only these participants (with or without "sub-")
  --session <l> …            only these sessions (with or without "ses-")
  --model <id | file>        a model id from models/ or an .onnx file (default: as
                             seahorse segment chooses for a whole head: the installed
                             FreeSurfer-protocol model when there is one, else MSD's;
                             with --protocol, a trained model of that protocol)
  --protocol <p>             the labelling protocol the volumes must follow (msd, freesurfer);
                             a model that follows another is refused
  --adapter <file>           a fine-tuned adapter (seahorse finetune) merged into the model:
                             by default the model it was trained on, which then follows
                             the protocol of the labels it was trained on
  --n-procs <N>              segment N scans at once in N worker processes (default 1)
  --omp-nthreads <T>         onnxruntime threads per process (default: the cores shared
                             out among the processes; a scheduler's job gives its own)
  --overwrite                redo finished scans (and allow another model in <output_dir>)
  -h, --help                 show this help

Exit status: 0 every scan segmented; 1 nothing could run (bad dataset, model); 2 bad
command line; 3 some scans failed (their errors are recorded, the others are written).`;

/** `--participant-label 01 02` (BIDS Apps take lists, argparse nargs="+") → repeated options. */
export function expandLists(args: readonly string[], listOptions: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const option = args[i];
    out.push(option);
    if (!listOptions.includes(option)) continue;
    for (let n = 0; i + 1 < args.length && !args[i + 1].startsWith('-'); n++) {
      if (n > 0) out.push(option);
      out.push(args[++i]);
    }
  }
  return out;
}

interface Dataset {
  readonly bidsDir: string;
  readonly outputDir: string;
  readonly scans: readonly T1wScan[];
}

/** Validates the two folders and the filters, and finds the scans. */
function openDataset(bidsArg: string, outArg: string, participants: readonly string[], sessions: readonly string[]): Dataset {
  const bidsDir = resolve(bidsArg);
  const outputDir = resolve(outArg);
  if (!existsSync(bidsDir)) throw new Error(`BIDS dataset not found: ${bidsDir}`);
  if (!existsSync(join(bidsDir, 'dataset_description.json'))) throw new Error(`${bidsDir} is not a BIDS dataset: it has no dataset_description.json`);
  if (outputDir === bidsDir) throw new Error('the output folder must not be the BIDS dataset itself (use e.g. <bids_dir>/derivatives/seahorse)');
  const files = listDataset(bidsDir);
  const unknownSub = unknownLabels(participants, participantLabels(files));
  if (unknownSub.length) throw new Error(`no participant ${unknownSub.map((l) => `sub-${l}`).join(', ')} in ${bidsDir}`);
  const scans = findT1wScans(files, { participants, sessions });
  if (sessions.length) {
    const unknownSes = unknownLabels(sessions, new Set(findT1wScans(files, { participants }).flatMap((s) => (s.session ? [s.session] : []))));
    if (unknownSes.length) throw new Error(`no T1w image in session ${unknownSes.map((l) => `ses-${l}`).join(', ')}${participants.length ? ' of the chosen participants' : ''}`);
  }
  if (scans.length === 0) throw new Error(`no T1w images (sub-<label>/[ses-<label>/]anat/*_T1w.nii[.gz]) found in ${bidsDir}${participants.length ? ' for the chosen participants' : ''}`);
  return { bidsDir, outputDir, scans };
}

function labels(values: readonly string[] | undefined, prefix: 'sub' | 'ses', usage: string): string[] {
  return (values ?? []).map((v) => {
    const label = normaliseLabel(v, prefix);
    if (label === null) throw new UsageError(`"${v}" is not a BIDS ${prefix === 'sub' ? 'participant' : 'session'} label (letters and digits)`, usage);
    return label;
  });
}

const scanName = (s: T1wScan) => s.path.split('/').pop()!.replace(/_T1w\.nii(\.gz)?$/, '');

export async function runBids(rawArgs: readonly string[], io: CliIO): Promise<void> {
  const args = expandLists(rawArgs, ['--participant-label', '--participant_label', '--session', '--session-label']);
  const { values, positionals } = parse(
    args,
    {
      'participant-label': { type: 'string', multiple: true },
      participant_label: { type: 'string', multiple: true },
      session: { type: 'string', multiple: true },
      'session-label': { type: 'string', multiple: true },
      model: { type: 'string' },
      protocol: { type: 'string' },
      adapter: { type: 'string' },
      'n-procs': { type: 'string' },
      'omp-nthreads': { type: 'string' },
      overwrite: { type: 'boolean' },
    },
    BIDS_USAGE,
  );
  if (positionals.length !== 3) throw new UsageError(`give <bids_dir> <output_dir> participant|group (got ${positionals.length} arguments)`, BIDS_USAGE);
  const [bidsArg, outArg, level] = positionals;
  if (level !== 'participant' && level !== 'group') throw new UsageError(`the analysis level is "participant" or "group" (got "${level}")`, BIDS_USAGE);
  const participants = labels([...(values['participant-label'] ?? []), ...(values.participant_label ?? [])], 'sub', BIDS_USAGE);
  const sessions = labels([...(values.session ?? []), ...(values['session-label'] ?? [])], 'ses', BIDS_USAGE);
  const nProcs = values['n-procs'] === undefined ? 1 : Number(values['n-procs']);
  if (!Number.isInteger(nProcs) || nProcs < 1) throw new UsageError(`--n-procs takes a whole number ≥ 1 (got "${values['n-procs']}")`, BIDS_USAGE);
  const threads = values['omp-nthreads'] === undefined ? undefined : Number(values['omp-nthreads']);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new UsageError(`--omp-nthreads takes a whole number ≥ 1 (got "${values['omp-nthreads']}")`, BIDS_USAGE);
  const dataset = openDataset(bidsArg, outArg, participants, sessions);
  if (level === 'participant') {
    await participantLevel(dataset, { model: values.model, protocol: values.protocol, adapter: values.adapter, nProcs, threads, overwrite: !!values.overwrite }, io);
  } else {
    if (values.model || values.adapter || values.protocol) io.err('seahorse bids group: --model, --protocol and --adapter apply to the participant level; the group level reads what it wrote.');
    groupLevel(dataset, io);
  }
}

async function participantLevel(d: Dataset, opts: { model?: string; protocol?: string; adapter?: string; nProcs: number; threads?: number; overwrite: boolean }, io: CliIO): Promise<void> {
  // An adapter names the model it was trained on (its id, as `seahorse finetune` records it).
  const adapterBase = opts.adapter && !opts.model ? (await readAdapterFile(resolve(opts.adapter))).base.label : undefined;
  const choice = chooseModel({ ...opts, model: opts.model ?? adapterBase });
  const { identity } = await openModel(choice, { open: false });
  const descriptionPath = join(d.outputDir, 'dataset_description.json');
  const existing = readJsonIfExists(descriptionPath) as { Seahorse?: { Model?: ModelIdentity } } | null;
  if (existing?.Seahorse?.Model && !sameModel(existing.Seahorse.Model, identity) && !opts.overwrite) {
    const m = existing.Seahorse.Model;
    throw new Error(
      `${d.outputDir} holds results of model ${m.id}${m.adapter ? ` + adapter ${m.adapter.file}` : ''} (protocol ${m.protocol ?? 'unknown'}); ` +
        `this run uses ${identity.id}${identity.adapter ? ` + adapter ${identity.adapter.file}` : ''}. One folder holds one model's volumes: choose another output folder, or --overwrite to redo every scan`,
    );
  }
  const redoAll = opts.overwrite && !!existing?.Seahorse?.Model && !sameModel(existing.Seahorse.Model, identity);
  const sourceName = (readJsonIfExists(join(d.bidsDir, 'dataset_description.json')) as { Name?: string } | null)?.Name;
  writeAtomic(descriptionPath, `${JSON.stringify(datasetDescription({ version: SEAHORSE_VERSION, model: identity, sourceName, rawLink: relative(d.outputDir, d.bidsDir) }), null, 2)}\n`);
  writeAtomic(join(d.outputDir, '.bidsignore'), BIDS_IGNORE);
  writeAtomic(join(d.outputDir, 'desc-hippocampus_dseg.tsv'), formatTsv(['index', 'name'], SIDE_LABELS.map((l) => ({ index: l.value, name: l.name }))));

  const todo = d.scans.filter((s) => opts.overwrite || redoAll || !isFinished(d.outputDir, s));
  const skipped = d.scans.length - todo.length;
  io.out(
    `Model ${identity.id}${identity.adapter ? ` + adapter ${identity.adapter.file}` : ''} (${identity.status}${identity.protocol ? `, protocol ${identity.protocol}` : ''}); ` +
      `${d.scans.length} T1w scan${d.scans.length === 1 ? '' : 's'}, ${skipped} already finished${skipped ? ' (skipped; --overwrite redoes them)' : ''}, ${todo.length} to segment` +
      `${todo.length > 1 && opts.nProcs > 1 ? ` in ${Math.min(opts.nProcs, todo.length)} worker processes` : ''}.`,
  );
  if (identity.status !== 'trained') io.err(`Warning: model ${identity.id} is ${identity.status === 'untrained-test' ? 'an UNTRAINED TEST MODEL: its output is not a segmentation' : 'not one Seahorse trained: its accuracy is unknown'}.`);
  const jobs: ScanJob[] = todo.map((scan) => ({ bidsDir: d.bidsDir, outputDir: d.outputDir, scan }));
  let count = 0;
  let failed = 0;
  const report = (job: ScanJob, o: ScanOutcome) => {
    count++;
    const head = `[${count}/${jobs.length}] ${scanName(job.scan)}`;
    if (o.status === 'ok') {
      const m = o.measures;
      const vols = m.leftMm3 !== null ? `left ${num(m.leftMm3, 0)} mm³, right ${num(m.rightMm3!, 0)} mm³` : `total ${num(m.totalMm3, 0)} mm³ (side unknown)`;
      io.out(`${head}: ${vols}${m.flags.length ? `; flags ${m.flags.join(', ')}` : ''} (${o.seconds.toFixed(1)} s)`);
    } else {
      failed++;
      io.out(`${head}: FAILED: ${o.error}`);
    }
  };
  if (jobs.length > 0 && opts.nProcs === 1) {
    const { model } = await openModel(choice, { open: true, threads: opts.threads });
    try {
      const ctx = runContext(model, identity);
      for (const job of jobs) report(job, await processScan(job, ctx));
    } finally {
      await model.backend.dispose();
    }
  } else if (jobs.length > 0) {
    await runPool(jobs, opts.nProcs, { choice, threads: opts.threads ?? threadsPerWorker(Math.min(opts.nProcs, jobs.length)) }, identity, report);
  }
  io.out(`Derivatives in ${d.outputDir}`);
  if (failed) throw new ExitStatus(`${failed} of ${jobs.length} scan${jobs.length === 1 ? '' : 's'} failed; the errors are in ${join(d.outputDir, 'logs')} and the group table`, 3);
}

/** What the participant level left for one scan. */
function readOutcome(outputDir: string, scan: T1wScan): GroupInput['outcome'] {
  const p = derivativePaths(scan);
  if (isFinished(outputDir, scan)) {
    const { measures, model } = measuresFromSidecar(readJson(join(outputDir, p.sidecar)), p.sidecar);
    return { status: 'ok', measures, modelId: model.id };
  }
  const error = readJsonIfExists(join(outputDir, p.error)) as { Error?: string } | null;
  if (error) return { status: 'failed', error: error.Error ?? 'unknown error' };
  return { status: 'missing' };
}

function groupLevel(d: Dataset, io: CliIO): void {
  const description = readJsonIfExists(join(d.outputDir, 'dataset_description.json')) as { Seahorse?: { Model?: ModelIdentity } } | null;
  if (!description) throw new Error(`no participant-level results in ${d.outputDir}: run "seahorse bids ${d.bidsDir} ${d.outputDir} participant" first`);
  const inputs: GroupInput[] = d.scans.map((scan) => ({ participantId: `sub-${scan.subject}`, sessionId: scan.session === null ? null : `ses-${scan.session}`, source: scan.path, outcome: readOutcome(d.outputDir, scan) }));
  const participantsTsv = join(d.bidsDir, 'participants.tsv');
  const covariates = existsSync(participantsTsv) ? covariatesFrom(parseTsv(readFileSync(participantsTsv, 'utf8'))) : undefined;
  const table = groupTable(inputs, covariates);
  writeAtomic(join(d.outputDir, 'hippocampus_volumes.tsv'), formatTsv(table.columns, table.rows));
  writeAtomic(join(d.outputDir, 'hippocampus_volumes.json'), `${JSON.stringify(GROUP_COLUMN_DESCRIPTIONS, null, 2)}\n`);
  const mosaics = d.scans.map((scan) => {
    const rel = derivativePaths(scan).mosaic;
    return existsSync(join(d.outputDir, rel)) ? rel : null;
  });
  const model = description.Seahorse?.Model;
  const caveats = model && model.status !== 'trained' ? [`Model ${model.id} is ${model.status === 'untrained-test' ? 'an UNTRAINED TEST MODEL: these masks are not segmentations' : 'not one Seahorse trained: its accuracy is unknown'}.`] : [];
  const html = qcReportHtml(table, {
    title: `Seahorse hippocampus QC: ${(readJsonIfExists(join(d.bidsDir, 'dataset_description.json')) as { Name?: string } | null)?.Name ?? basename(d.bidsDir)}`,
    mosaics,
    caveats,
    generatedBy: `seahorse ${SEAHORSE_VERSION}${model ? `, model ${model.id}${model.protocol ? ` (protocol ${model.protocol})` : ''}` : ''}`,
  });
  writeAtomic(join(d.outputDir, 'qc_report.html'), html);
  const count = (s: string) => table.rows.filter((r) => r.status === s).length;
  io.out(`${table.rows.length} scans: ${count('ok')} segmented, ${count('failed')} failed, ${count('missing')} not run; ${table.flags.filter((f) => f.length).length} flagged.`);
  for (const note of table.notes) io.out(`Note: ${note}`);
  io.out(`Table   ${join(d.outputDir, 'hippocampus_volumes.tsv')}\nReport  ${join(d.outputDir, 'qc_report.html')}`);
}
