/**
 * Model manifests: validating one read from JSON, building one for a plain ONNX file,
 * and resolving the file references inside one. Pure (browser, worker and Node); the
 * Node loader is registry-node.ts.
 */
import type { TrainingPose } from '../core/fullhead/head-pose';
import type { LabelInfo } from '../core/labels';
import { describeModel, modelInputSize, type ModelProto } from '../onnx';
import { LOCALISER_ROLES, MODEL_TASKS, PROTOCOLS, type ModelManifest, type Normalisation } from './manifest';

/** Manifest file references with this prefix live in the shared test fixtures. */
export const FIXTURES_PREFIX = 'fixtures:';

const STATUSES = ['trained', 'untrained-test', 'user'] as const;
const ARCHITECTURES = ['UNETR', 'SwinUNETR', 'UNet', 'unknown'] as const;
const ORIENTATIONS = ['RAS', 'as-is'] as const;

type Json = Record<string, unknown>;

function fail(source: string, what: string): never {
  throw new Error(`model manifest ${source}: ${what}`);
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Json, key: string, source: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') fail(source, `"${key}" must be a non-empty string`);
  return v;
}

function oneOf<T extends string>(o: Json, key: string, allowed: readonly T[], source: string): T {
  const v = o[key];
  if (!allowed.includes(v as T)) fail(source, `"${key}" must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

function triple(o: Json, key: string, source: string, integer: boolean): [number, number, number] {
  const v = o[key];
  const ok = Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && x > 0 && (!integer || Number.isInteger(x)));
  if (!ok) fail(source, `"${key}" must be three positive ${integer ? 'integers' : 'numbers'}`);
  return v as [number, number, number];
}

function normalisation(o: Json, source: string): Normalisation {
  const n = o.normalisation;
  if (isObject(n) && n.kind === 'zscore' && (n.over === 'all' || n.over === 'nonzero')) return { kind: 'zscore', over: n.over };
  if (isObject(n) && n.kind === 'percentile' && typeof n.lo === 'number' && typeof n.hi === 'number' && n.lo >= 0 && n.lo < n.hi && n.hi <= 100) {
    return { kind: 'percentile', lo: n.lo, hi: n.hi };
  }
  if (isObject(n) && n.kind === 'positive-percentile' && typeof n.percentile === 'number' && n.percentile > 0 && n.percentile <= 100 && typeof n.clipMax === 'number' && n.clipMax > 0) {
    return { kind: 'positive-percentile', percentile: n.percentile, clipMax: n.clipMax };
  }
  return fail(source, '"normalisation" must be {kind:"zscore", over:"all"|"nonzero"}, {kind:"percentile", lo, hi} with 0 ≤ lo < hi ≤ 100, or {kind:"positive-percentile", percentile, clipMax}');
}

function labels(o: Json, source: string): LabelInfo[] {
  const v = o.labels;
  if (!Array.isArray(v) || v.length < 2) fail(source, '"labels" must list the background and at least one structure');
  const out = v.map((l, n): LabelInfo => {
    const ok =
      isObject(l) &&
      Number.isInteger(l.value) &&
      (l.value as number) >= 0 &&
      (l.value as number) <= 255 &&
      typeof l.name === 'string' &&
      Array.isArray(l.rgb) &&
      l.rgb.length === 3 &&
      l.rgb.every((c) => Number.isInteger(c) && c >= 0 && c <= 255);
    if (!ok) fail(source, `labels[${n}] must be {value: 0–255, name, rgb: [r, g, b]}`);
    return { value: l.value as number, name: l.name as string, rgb: l.rgb as [number, number, number] };
  });
  if (new Set(out.map((l) => l.value)).size !== out.length) fail(source, 'label values must be distinct');
  if (!out.some((l) => l.value === 0)) fail(source, 'labels must include the background, value 0');
  return out;
}

/** Validates a parsed manifest JSON; `source` names it in error messages. */
export function parseManifest(json: unknown, source: string): ModelManifest {
  if (!isObject(json)) fail(source, 'not a JSON object');
  const externalData = json.externalData;
  if (externalData !== undefined && !(Array.isArray(externalData) && externalData.every((e) => typeof e === 'string' && e !== ''))) {
    fail(source, '"externalData" must be a list of file names');
  }
  if (json.axisOrder !== 'ijk') fail(source, '"axisOrder" must be "ijk"');
  const optionalObject = (key: string) => {
    const v = json[key];
    if (v !== undefined && !isObject(v)) fail(source, `"${key}" must be an object`);
    return v as Readonly<Record<string, unknown>> | undefined;
  };
  return {
    id: str(json, 'id', source),
    name: str(json, 'name', source),
    status: oneOf(json, 'status', STATUSES, source),
    architecture: oneOf(json, 'architecture', ARCHITECTURES, source),
    config: optionalObject('config'),
    onnx: str(json, 'onnx', source),
    externalData: externalData as string[] | undefined,
    inputSize: triple(json, 'inputSize', source, true),
    spacingMm: triple(json, 'spacingMm', source, false),
    axisOrder: 'ijk',
    orientation: oneOf(json, 'orientation', ORIENTATIONS, source),
    normalisation: normalisation(json, source),
    labels: labels(json, source),
    provenance: optionalObject('provenance'),
    metrics: optionalObject('metrics'),
    sha256: typeof json.sha256 === 'string' ? json.sha256 : undefined,
    protocol: json.protocol === undefined ? undefined : oneOf(json, 'protocol', PROTOCOLS, source),
    task: json.task === undefined ? undefined : oneOf(json, 'task', MODEL_TASKS, source),
    localiserRole: json.localiserRole === undefined ? undefined : oneOf(json, 'localiserRole', LOCALISER_ROLES, source),
    trainingPose: json.trainingPose === undefined ? undefined : trainingPose(json.trainingPose, source),
  };
}

/** A training pose: a pitch within a quarter turn, an allowance of 0–90°. */
function trainingPose(v: unknown, source: string): TrainingPose {
  const ok =
    isObject(v) &&
    typeof v.pitchDeg === 'number' &&
    Math.abs(v.pitchDeg) <= 90 &&
    typeof v.allowanceDeg === 'number' &&
    v.allowanceDeg >= 0 &&
    v.allowanceDeg <= 90;
  if (!ok) fail(source, '"trainingPose" must be {pitchDeg: −90…90, allowanceDeg: 0…90}');
  return { pitchDeg: v.pitchDeg as number, allowanceDeg: v.allowanceDeg as number };
}

/** Distinct colours (Okabe–Ito) for labels of a model without a manifest. */
const PALETTE: readonly [number, number, number][] = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
  [204, 121, 167],
];

export interface OnnxFileRefs {
  readonly id: string;
  readonly name: string;
  /** Where the ONNX is, as a manifest would say it. */
  readonly onnx: string;
  readonly externalData?: readonly string[];
}

/**
 * A manifest for a plain ONNX without one (status `user`): input size from the graph,
 * output classes from the output's channel count, labels 0…C−1 named generically,
 * RAS at 1 mm, z-score over all voxels (MONAI's NormalizeIntensity default).
 */
export function manifestFromOnnx(model: ModelProto, refs: OnnxFileRefs): ModelManifest {
  const inputSize = modelInputSize(model);
  const { outputs } = describeModel(model);
  const classes = outputs[0]?.dims[1];
  if (outputs.length < 1 || typeof classes !== 'number' || classes < 2 || classes > 256) {
    throw new Error(`cannot tell how many classes the model predicts (output shape [${outputs[0]?.dims.join(', ') ?? ''}]); give it a manifest`);
  }
  return {
    id: refs.id,
    name: refs.name,
    status: 'user',
    architecture: 'unknown',
    onnx: refs.onnx,
    externalData: refs.externalData,
    inputSize,
    spacingMm: [1, 1, 1],
    axisOrder: 'ijk',
    orientation: 'RAS',
    normalisation: { kind: 'zscore', over: 'all' },
    labels: Array.from({ length: classes }, (_, c) =>
      c === 0 ? { value: 0, name: 'background', rgb: [0, 0, 0] as const } : { value: c, name: `label ${c}`, rgb: PALETTE[(c - 1) % PALETTE.length] },
    ),
  };
}

/** A manifest file reference without its `fixtures:` prefix, and whether it had one. */
export function splitFixtureRef(ref: string): { fixture: boolean; path: string } {
  return ref.startsWith(FIXTURES_PREFIX) ? { fixture: true, path: ref.slice(FIXTURES_PREFIX.length) } : { fixture: false, path: ref };
}

/**
 * The name an ONNX uses for one of its external-data files (its `location`): the file's
 * path relative to the ONNX file's folder.
 */
export function externalDataLocation(ref: string, onnxRef: string): string {
  const file = splitFixtureRef(ref).path;
  const dir = splitFixtureRef(onnxRef).path.split('/').slice(0, -1).join('/');
  return dir && file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Whether the model's output is to be presented as a segmentation, and if not, why. */
export function modelCaveat(manifest: ModelManifest): string | null {
  if (manifest.status === 'untrained-test') return 'UNTRAINED TEST MODEL: its output is not a segmentation (plumbing tests only).';
  if (manifest.status === 'user') return 'User-supplied model: Seahorse does not know how it was trained or how accurate it is.';
  return null;
}
