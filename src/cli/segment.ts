/** `seahorse segment`: one scan in, a label NIfTI on the scan's grid out, volumes printed. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { readVolume, writeNifti } from '../core/io';
import { axisCodes } from '../core/orientation';
import { segmentVolume } from '../infer/pipeline';
import { listInstalledModels, loadModelNode } from '../infer/registry-node';
import { modelCaveat } from '../infer/registry';
import { parse } from './args';
import { ms, num, table, toJson } from './format';
import type { CliIO } from './main';
import { UsageError } from './usage';

export const SEGMENT_USAGE = `Usage: seahorse segment <scan> -o <labels.nii.gz> [--model <id | model.onnx>] [--json]

Segments one T1-weighted scan (NIfTI .nii/.nii.gz or MGH/MGZ) and writes the labels as a
NIfTI with the scan's own grid and affine. Prints each label's volume in mm³ and the
backend that ran the model.

Options:
  -o, --output <file>   where to write the labels (.nii.gz, or .nii uncompressed)
  --model <id | file>   a model id from models/ or the path of an .onnx file
                        (default: the first trained model installed)
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
  return readVolume(new Uint8Array(readFileSync(path)), basename(path));
}

export async function runSegment(args: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(
    args,
    { output: { type: 'string', short: 'o' }, model: { type: 'string' }, json: { type: 'boolean' } },
    SEGMENT_USAGE,
  );
  if (positionals.length !== 1) throw new UsageError(`give exactly one scan to segment (got ${positionals.length})`, SEGMENT_USAGE);
  if (!values.output) throw new UsageError('say where to write the labels: -o <labels.nii.gz>', SEGMENT_USAGE);
  const input = resolve(positionals[0]);
  const output = resolve(values.output);
  if (!/\.nii(\.gz)?$/i.test(output)) throw new UsageError(`the output must be a .nii.gz or .nii file (got ${basename(output)})`, SEGMENT_USAGE);
  if (input === output) throw new Error('the output would overwrite the input scan; choose another -o');
  if (!existsSync(dirname(output))) throw new Error(`the output folder does not exist: ${dirname(output)}`);

  const image = readScan(input);
  const model = await loadModelNode(values.model ?? defaultModelId());
  try {
    const result = await segmentVolume(image, model);
    const maxLabel = Math.max(...model.manifest.labels.map((l) => l.value));
    writeFileSync(
      output,
      writeNifti(result.labels, { gzip: /\.gz$/i.test(output), description: `seahorse ${model.manifest.id}`, displayRange: [0, maxLabel] }),
    );
    const caveat = modelCaveat(model.manifest);
    const { manifest, backend } = model;
    if (values.json) {
      io.out(
        toJson({
          input,
          output,
          grid: { dims: image.dims, spacingMm: image.spacing, orientation: axisCodes(image.affine) },
          model: { id: manifest.id, name: manifest.name, status: manifest.status, onnx: model.onnxPath },
          caveat,
          backend: { name: backend.name, reason: backend.reason },
          volumes: result.volumes,
          timingsMs: result.timingsMs,
        }),
      );
      return;
    }
    const t = result.timingsMs;
    io.out(
      [
        `Scan     ${input}: ${image.dims.join(' × ')} voxels, ${image.spacing.map((s) => +s.toFixed(3)).join(' × ')} mm, ${axisCodes(image.affine)}`,
        `Model    ${manifest.id}: ${manifest.name}`,
        ...(caveat ? [`         ${caveat}`] : []),
        `Backend  ${backend.name}: ${backend.reason}`,
        `Labels   ${output}`,
        '',
        table([['label', 'voxels', 'mm³'], ...result.volumes.map((v) => [v.name, String(v.voxels), num(v.mm3, 1)])]),
        '',
        `Time: preprocess ${ms(t.preprocess)}, inference ${ms(t.inference)}, postprocess ${ms(t.postprocess)}, total ${ms(t.total)}`,
      ].join('\n'),
    );
  } finally {
    await model.backend.dispose();
  }
}
