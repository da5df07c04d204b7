/**
 * `seahorse segment`: one scan in, a label NIfTI on the scan's grid out, volumes printed.
 * Full heads and hippocampus crops take their own paths (src/infer/segment-scan.ts).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { choosePath, MaskRefusedError, ScanKindError, prepareTemplate, type ScanPath } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { rotationAngleDeg } from '../core/fullhead/head-pose';
import { readVolume, writeNifti } from '../core/io';
import { gunzipNode } from '../core/io/gunzip-node';
import { axisCodes } from '../core/orientation';
import type { FullHeadResult } from '../infer/fullhead';
import { segmentScan, type SegmentScanResult } from '../infer/segment-scan';
import { PROTOCOLS } from '../infer/manifest';
import { modelForProtocol, type ProtocolChoice } from '../infer/protocol-choice';
import { LOCALISER_ID } from '../infer/localiser';
import { loadLocaliserNode } from '../infer/localiser-node';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from '../infer/registry-node';
import { modelCaveat } from '../infer/registry';
import type { ModelManifest } from '../infer/manifest';
import type { Volume } from '../core/volume';
import { applyAdapterToOnnx } from '../peft/apply';
import { withAdaptedProtocol } from '../train/label-map';
import { describeAdapter, readAdapterFile } from './adapter';
import { parse } from './args';
import { ms, num, table, toJson } from './format';
import type { CliIO } from './main';
import { startModelThread } from './model-thread';
import { startTemplateThread } from './template-thread';
import { UsageError } from './usage';

export const SEGMENT_USAGE = `Usage: seahorse segment <scan> -o <labels.nii.gz> [--model <id | model.onnx>] [--adapter <file>]
                        [--protocol freesurfer|msd] [--full-head | --crop] [--sublabels]
                        [--report <file.pdf | file.html>] [--json]

Segments one T1-weighted scan (NIfTI .nii/.nii.gz or MGH/MGZ) and writes the labels as a
NIfTI with the scan's own grid and affine. Prints each label's volume in mm³ and the
backend that ran the model.

The scan's field of view decides the path. A whole head (every axis ≥ 120 mm) is
registered to the MNI template to find both hippocampi; each is segmented in the
orientation the model was trained in and pasted back: label 1 left, 2 right hippocampus
(largest component each), volumes also as a fraction of the intracranial-volume estimate.
The registration quality is printed; a failed registration writes nothing, a poor one
warns. Each side's mask is checked (volume against the protocol's normal range,
left/right asymmetry, fragments, distance from where the hippocampus is expected):
implausible masks are written with a warning, impossible ones are refused (nothing is
written, exit status 1, the reasons on stderr; with --json also on stdout). A crop
around one hippocampus (every axis ≤ 100 mm) is segmented as it is, with the model's own
labels (1 head, 2 body + tail; the side is unknown).

Options:
  -o, --output <file>   where to write the labels (.nii.gz, or .nii uncompressed)
  --model <id | file>   a model id from models/ or the path of an .onnx file
                        (default: the first trained model installed)
  --protocol <name>     the labelling protocol: freesurfer (aseg 17/53, whole
                        hippocampus; the default for full heads when such a model is
                        installed) or msd (manual MSD/Vanderbilt outline, head and
                        body + tail; crops and --sublabels always use it)
  --adapter <file>      a fine-tuned adapter (seahorse finetune) merged into the
                        model first: by default the model it was trained on, which
                        then follows the protocol of the labels it was trained on
  --full-head           take the full-head path whatever the field of view
  --crop                take the crop path whatever the field of view
  --sublabels           full head: 1 left head, 2 left body + tail, 3 right head,
                        4 right body + tail (instead of 1 left, 2 right)
  --report <file>       also write a report a clinician can file (.pdf, or .html as one
                        self-contained page): scan and header facts, model, protocol and
                        version, quality checks and warnings, volumes (mm³, % of ICV),
                        three views through each hippocampus with the mask outlined
  --json                print machine-readable JSON instead of text
  -h, --help            show this help`;

/** The model used when none is named: the first trained one installed. */
export function defaultModelId(): string {
  const installed = listInstalledModels();
  const trained = installed.find((m) => m.manifest.status === 'trained');
  if (trained) return trained.manifest.id;
  const ids = installed.map((m) => `${m.manifest.id} (${m.manifest.status})`).join(', ') || 'none';
  throw new Error(`no trained model is installed yet; choose one with --model <id | model.onnx> (installed: ${ids})`);
}

/** Reads a scan from disk with the file name in every message. */
export function readScan(path: string) {
  if (!existsSync(path)) throw new Error(`scan not found: ${path}`);
  if (statSync(path).isDirectory()) {
    throw new Error(
      `${path} is a folder: give one scan file (NIfTI .nii/.nii.gz or MGH/MGZ). A DICOM series can be converted first (e.g. with dcm2niix), or dropped as a folder on the studio, which converts it in the page.`,
    );
  }
  return readVolume(new Uint8Array(readFileSync(path)), basename(path), { gunzip: gunzipNode });
}

/**
 * onnxruntime threads of a localiser on its own thread: it runs beside the registration (one
 * JavaScript thread) and the segmentation (onnxruntime on every core); more would take cores from them.
 */
const LOCALISER_THREADS = 1;

export async function runSegment(args: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      output: { type: 'string', short: 'o' },
      model: { type: 'string' },
      protocol: { type: 'string' },
      adapter: { type: 'string' },
      'full-head': { type: 'boolean' },
      crop: { type: 'boolean' },
      sublabels: { type: 'boolean' },
      json: { type: 'boolean' },
      report: { type: 'string' },
    },
    SEGMENT_USAGE,
  );
  if (positionals.length !== 1) throw new UsageError(`give exactly one scan to segment (got ${positionals.length})`, SEGMENT_USAGE);
  if (!values.output) throw new UsageError('say where to write the labels: -o <labels.nii.gz>', SEGMENT_USAGE);
  const input = resolve(positionals[0]);
  const output = resolve(values.output);
  if (!/\.nii(\.gz)?$/i.test(output)) throw new UsageError(`the output must be a .nii.gz or .nii file (got ${basename(output)})`, SEGMENT_USAGE);
  if (input === output) throw new Error('the output would overwrite the input scan; choose another -o');
  if (!existsSync(dirname(output))) throw new Error(`the output folder does not exist: ${dirname(output)}`);
  if (values['full-head'] && values.crop) throw new UsageError('choose one of --full-head and --crop', SEGMENT_USAGE);
  const path: ScanPath | undefined = values['full-head'] ? 'full-head' : values.crop ? 'crop' : undefined;
  const report = values.report === undefined ? null : resolve(values.report);
  // The report writers (pdf-lib, fast-png: ~0.5 s to load) are imported only when a report is asked for.
  const reports = report ? await import('../report') : null;
  if (report && !reports!.reportFormat(report)) throw new UsageError(`the report must be a .pdf or .html file (got ${basename(report)})`, SEGMENT_USAGE);
  if (report && !existsSync(dirname(report))) throw new Error(`the report's folder does not exist: ${dirname(report)}`);
  if (values.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(values.protocol)) {
    throw new UsageError(`--protocol takes ${PROTOCOLS.join(' or ')} (got ${values.protocol})`, SEGMENT_USAGE);
  }
  const protocol = (values.protocol ?? 'auto') as ProtocolChoice;

  const started = performance.now();
  // The template is prepared on another thread while the scan is read and the model opened.
  const templateThread = startTemplateThread();
  // So is the localiser, which then runs beside the registration and segmentation (model-thread.ts).
  const localiserThread = startModelThread(LOCALISER_ID, 'localisation', { threads: LOCALISER_THREADS });
  const closeThreads = async () => {
    templateThread?.close();
    // On its thread, the localiser may still be running (after a refusal): closing waits for it.
    await localiserThread?.close();
  };
  const { image, readMs, adapter, model, modelMs } = await openScanAndModel(input, started, {
    model: values.model,
    protocol,
    forcedProtocol: values.protocol,
    path,
    sublabels: !!values.sublabels,
    adapter: values.adapter,
  }).catch(async (err) => {
    await closeThreads();
    throw err;
  });
  let localiser: LoadedNodeModel | null = null;
  let localiserLoadMs = 0;
  const localiserModel = async () => {
    const t = performance.now();
    localiser = localiserThread?.model ?? (await loadLocaliserNode());
    localiserLoadMs = performance.now() - t;
    return localiser;
  };
  let templateMs = 0;
  let templateThreadMs = 0;
  const template = async () => {
    const t = performance.now();
    // If the thread failed, preparing it here says why in words (e.g. a missing template file).
    const threaded = await templateThread?.result.catch(() => null);
    templateThreadMs = threaded?.ms ?? 0;
    const prepared = threaded?.prepared ?? prepareTemplate(readTemplate());
    templateMs = performance.now() - t;
    return prepared;
  };
  try {
    const result = await segmentScan(image, model, { path, sublabels: values.sublabels, template, localiserModel }).catch((err) => {
      if (err instanceof ScanKindError) throw new Error(`${err.message.replace(/\.$/, '')} (--full-head or --crop).`);
      if (err instanceof MaskRefusedError && values.json) {
        io.out(toJson({ input, output: null, model: { id: model.manifest.id, protocol: model.manifest.protocol ?? null }, refused: true, reasons: err.report.findings.filter((f) => f.level === 'refusal').map((f) => f.message), qc: err.report }));
      }
      throw err;
    });
    const maxLabel = Math.max(...result.labelInfo.map((l) => l.value));
    // gzip through Node's native zlib (a third of the time fflate's JavaScript takes on a 256³ head).
    const nifti = writeNifti(result.labels, { gzip: false, description: `seahorse ${model.manifest.id} ${result.path}`, displayRange: [0, maxLabel] });
    writeFileSync(output, /\.gz$/i.test(output) ? gzipSync(nifti, { level: 6 }) : nifti);
    const caveat = modelCaveat(model.manifest);
    const { manifest, backend } = model;
    if (report) await writeReport(reports!, report, basename(input), image, result, manifest, caveat, backend);
    // The whole wait, as a user has it: reading the file, loading the model and the template included.
    // The pipeline's own total is named as the span it covers, so it is not mistaken for the whole wait.
    const { total: pipelineMs, ...pipelineStages } = result.timingsMs;
    const timingsMs = {
      read: readMs,
      'model load': modelMs,
      ...(localiser ? { 'localiser load': localiserLoadMs } : {}),
      ...(localiser && localiserThread ? { 'localiser load, on a worker thread': await localiserThread.opened } : {}),
      ...(templateMs ? { template: templateMs } : {}),
      // The thread's own time: spent while the scan was read and the model opened, `template` is what was left to wait.
      ...(templateThreadMs ? { 'template, on a worker thread': templateThreadMs } : {}),
      ...pipelineStages,
      ...(pipelineMs !== undefined ? { 'pipeline, scan in memory to masks': pipelineMs } : {}),
      'total, read to masks': performance.now() - started,
    };
    if (values.json) {
      io.out(
        toJson({
          input,
          output,
          grid: { dims: image.dims, spacingMm: image.spacing, orientation: axisCodes(image.affine) },
          model: { id: manifest.id, name: manifest.name, status: manifest.status, protocol: manifest.protocol ?? null, onnx: model.onnxPath },
          caveat,
          adapter: adapter ? { file: resolve(values.adapter!), method: adapter.method, base: adapter.base, training: adapter.training } : null,
          backend: { name: backend.name, reason: backend.reason },
          path: result.path,
          fieldOfView: { kind: result.classification.kind, extentMm: result.classification.extentMm, reason: result.classification.reason },
          labels: result.labelInfo,
          volumes: result.volumes,
          ...(result.path === 'full-head' ? { fullHead: fullHeadReport(result.fullHead) } : {}),
          warnings: result.warnings,
          report,
          timingsMs,
        }),
      );
      return;
    }
    const t = timingsMs;
    io.out(
      [
        `Scan     ${input}: ${image.dims.join(' × ')} voxels, ${image.spacing.map((s) => +s.toFixed(3)).join(' × ')} mm, ${axisCodes(image.affine)}`,
        `Model    ${manifest.id}: ${manifest.name}${manifest.protocol ? ` (${manifest.protocol} protocol)` : ''}`,
        ...(caveat ? [`         ${caveat}`] : []),
        ...(adapter ? [`Adapter  ${resolve(values.adapter!)}: ${describeAdapter(adapter)}`] : []),
        `Backend  ${backend.name}: ${backend.reason}`,
        `Path     ${result.path === 'full-head' ? 'full head' : 'crop'} (${result.classification.reason})`,
        ...(result.path === 'full-head' ? [`Registration  ${registrationLine(result.fullHead)}`, `Checks   ${checksLine(result.fullHead)}`] : []),
        ...result.warnings.map((w) => `Warning  ${w}`),
        `Labels   ${output}`,
        ...(report ? [`Report   ${report}`] : []),
        '',
        volumeTable(result),
        '',
        `Time: ${Object.entries(t).map(([stage, v]) => `${stage} ${ms(v)}`).join(', ')}`,
      ].join('\n'),
    );
  } finally {
    await model.backend.dispose();
    if (!localiserThread) await (localiser as LoadedNodeModel | null)?.backend.dispose();
    await closeThreads();
  }
}

/** Reads the scan and opens the model its path calls for (with the adapter merged, if any). */
async function openScanAndModel(
  input: string,
  started: number,
  opts: { model?: string; protocol: ProtocolChoice; forcedProtocol?: string; path?: ScanPath; sublabels: boolean; adapter?: string },
) {
  const image = readScan(input);
  const readMs = performance.now() - started;
  const adapter = opts.adapter ? await readAdapterFile(resolve(opts.adapter)) : null;
  // An adapter names the model it was trained on (its id, as `seahorse finetune` records it).
  const modelSpec = opts.model ?? adapter?.base.label ?? chooseModel(undefined, opts.protocol, choosePathOrAuto(image, opts.path), opts.sublabels);
  const modelStart = performance.now();
  // On the main thread: on two cores, opening it on another thread measured no faster (bench/RESULTS.md).
  const opened = await loadModelNode(modelSpec, {
    adapt: adapter ? async (bytes) => (await applyAdapterToOnnx(bytes, adapter, `model ${modelSpec}`)).bytes : undefined,
  });
  const model = adapter ? { ...opened, manifest: withAdaptedProtocol(opened.manifest, adapter.training.labelMap) } : opened;
  const modelMs = performance.now() - modelStart;
  if (opts.forcedProtocol && model.manifest.protocol !== opts.forcedProtocol) {
    await model.backend.dispose();
    throw new Error(`model ${model.manifest.id} follows the ${model.manifest.protocol ?? 'unknown'} protocol, not ${opts.forcedProtocol}; leave out --model or --protocol`);
  }
  return { image, readMs, adapter, model, modelMs };
}

/** The report of this run, as PDF or self-contained HTML by the file's extension. */
async function writeReport(
  reports: typeof import('../report'),
  file: string,
  scanName: string,
  image: Volume,
  result: SegmentScanResult,
  manifest: ModelManifest,
  caveat: string | null,
  backend: { name: string; reason: string },
): Promise<void> {
  const fullHead = result.path === 'full-head' ? result.fullHead : null;
  const loc = fullHead?.localisation;
  const { buildReport, reportFormat, reportHtml, reportPdf, softwareName } = reports;
  const content = buildReport({
    scanName,
    scan: image,
    labels: result.labels,
    labelInfo: result.labelInfo,
    volumes: result.path === 'full-head' ? result.fullHead.volumes : result.volumes,
    hippocampi: result.path === 'full-head' ? result.fullHead.hippocampi : undefined,
    path: result.path,
    fieldOfView: result.classification,
    model: manifest,
    caveat,
    backend: { name: backend.name, reason: backend.reason },
    registration: fullHead && loc ? { quality: loc.quality, ncc: loc.ncc, brainNcc: loc.brainNcc, brainCoverage: loc.brainCoverage, icvMm3: fullHead.icvMm3, icvFrom: fullHead.icvFrom } : null,
    warnings: result.warnings,
    software: softwareName('CLI'),
    createdAt: new Date(),
  });
  writeFileSync(file, reportFormat(file) === 'pdf' ? await reportPdf(content) : reportHtml(content));
}

/** The model for a run: the one named, or the installed model of the protocol the run needs. */
function chooseModel(named: string | undefined, protocol: ProtocolChoice, path: ScanPath | null, sublabels: boolean): string {
  if (named) return named;
  const fallback = defaultModelId();
  // A field of view that is neither is refused later with the reason; pick the default for it.
  if (!path) return fallback;
  const manifests = listInstalledModels().map((m) => m.manifest);
  const selected = manifests.find((m) => m.id === fallback)!;
  return modelForProtocol(manifests, selected, { choice: protocol, path, sublabels }).id;
}

/**
 * The model `seahorse segment` uses on a scan like `image` when none is named, for `protocol`:
 * also `seahorse finetune`'s base when --model is left out. Says which path the scan takes.
 */
export function modelForScan(image: ReturnType<typeof readScan>, protocol: ProtocolChoice, sublabels: boolean): { id: string; path: ScanPath | null } {
  const path = choosePathOrAuto(image, undefined);
  return { id: chooseModel(undefined, protocol, path, sublabels), path };
}

function choosePathOrAuto(image: ReturnType<typeof readScan>, forced: ScanPath | undefined): ScanPath | null {
  try {
    return choosePath(image, forced).path;
  } catch {
    return null;
  }
}

function checksLine(f: FullHeadResult): string {
  const by =
    f.placedBy === 'localiser'
      ? 'crops placed by the localiser'
      : `crops placed by the registration${f.crossCheck ? `, cross-checked by the learned localiser${f.crossCheckLook === 'registration frame' ? " (a second look, in the registration's frame)" : ''}` : ''}`;
  const n = f.qc.findings.length;
  return `${f.qc.verdict === 'ok' ? 'volume, asymmetry, connectivity, position: all plausible' : `${n} finding${n === 1 ? '' : 's'} (see the warnings)`}; ${by}`;
}

/** The full-head details for --json: registration, ICV, each side, the boxes and the crops the model saw. */
function fullHeadReport(f: FullHeadResult) {
  const loc = f.localisation;
  return {
    qc: f.qc,
    placedBy: f.placedBy,
    localiser: f.localiser ? { left: f.localiser.left, right: f.localiser.right, brainCentroidMm: f.localiser.brainCentroidMm, brainVolumeMm3: f.localiser.brainVolumeMm3 } : null,
    /** The learned localiser's hippocampi when it only cross-checks the registration (its manifest's localiserRole). */
    crossCheck: f.crossCheck ? { left: f.crossCheck.left, right: f.crossCheck.right, look: f.crossCheckLook } : null,
    registration: {
      template: loc.template,
      startedFrom: loc.startedFrom,
      quality: loc.quality,
      ncc: loc.ncc,
      brainNcc: loc.brainNcc,
      brainCoverage: loc.brainCoverage,
      warning: loc.warning ?? null,
      /** Template (MNI) world mm → scan world mm, row-major 4×4. */
      transform: Array.from(loc.transform),
      /** Degrees the crops were turned to the model's training pose: the head's pose, taken from that pose, beyond what training covered (core/fullhead/head-pose.ts). */
      cropsTurnedDeg: rotationAngleDeg(loc.cropRotation),
    },
    /** The estimate the ICV fractions use: the registration's, or the localiser's coarse brain volume after a failed registration (`icvFrom`). */
    icvMm3: f.icvMm3,
    icvFrom: f.icvFrom,
    hippocampi: f.hippocampi,
    /** The registration's boxes around AAL's hippocampi (scan world mm per box voxel). */
    boxes: loc.hippocampi.map((b) => ({ side: b.side, dims: b.grid.dims, affine: Array.from(b.grid.affine), orientation: axisCodes(b.grid.affine) })),
    /** The MSD-framed crops the model segmented. */
    frames: f.frames.map((b) => ({ side: b.side, dims: b.grid.dims, affine: Array.from(b.grid.affine), orientation: axisCodes(b.grid.affine), recentred: b.recentred, widened: b.widened })),
  };
}

function registrationLine(f: FullHeadResult): string {
  const loc = f.localisation;
  const turned = rotationAngleDeg(loc.cropRotation);
  return (
    `${loc.quality}: similarity ${loc.ncc.toFixed(2)} overall, ${loc.brainNcc.toFixed(2)} inside the brain` +
    (loc.startedFrom === 'localiser brain' ? " (started again from the localiser's brain: the start from the field of view's centre did worse)" : '') +
    '; ' +
    `intracranial volume ≈ ${(f.icvMm3 / 1e6).toFixed(2)} L${f.icvFrom === 'localiser' ? " (the localiser's coarse brain volume)" : ''}` +
    (turned > 0 ? `; its crops were turned ${turned.toFixed(0)}° to the pose the model was trained in` : '')
  );
}

function volumeTable(result: SegmentScanResult): string {
  if (result.path === 'crop') return table([['label', 'voxels', 'mm³'], ...result.volumes.map((v) => [v.name, String(v.voxels), num(v.mm3, 1)])]);
  return table([['label', 'voxels', 'mm³', '% of ICV'], ...result.fullHead.volumes.map((v) => [v.name, String(v.voxels), num(v.mm3, 1), num(100 * v.icvFraction, 3)])]);
}
