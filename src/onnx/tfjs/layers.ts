/**
 * Reads a TensorFlow.js *layers* model (model.json + weight shards), the format of
 * brainchop's MeshNet models, into a plain chain of layers with float32 weights. Only
 * what MeshNet uses is accepted — a linear chain of Conv3D (any dilation, stride 1,
 * channels_last) and Activation layers — and anything else is refused by name, so a model
 * never converts into something that computes a different function.
 */

export type Activation = 'linear' | 'relu' | 'elu' | 'sigmoid' | 'softmax';
const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'elu', 'sigmoid', 'softmax'];

export interface Conv3dLayer {
  readonly kind: 'conv3d';
  readonly name: string;
  readonly inChannels: number;
  readonly filters: number;
  readonly kernel: readonly [number, number, number];
  readonly dilation: readonly [number, number, number];
  readonly padding: 'same' | 'valid';
  /** TF layout [kd, kh, kw, in, out]. */
  readonly weights: Float32Array;
  readonly bias: Float32Array | null;
  readonly activation: Activation;
}

export interface ActivationLayer {
  readonly kind: 'activation';
  readonly name: string;
  readonly activation: Activation;
}

export type Layer = Conv3dLayer | ActivationLayer;

export interface LayersModel {
  /** Input shape without batch: [D, H, W, C] (null for free spatial sizes). */
  readonly inputShape: readonly (number | null)[];
  readonly layers: readonly Layer[];
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

export class TfjsModelError extends Error {
  override readonly name = 'TfjsModelError';
}

/**
 * Parses model.json and its weight shards (`shards[path]` for every path in the weights
 * manifest, in any order) into a layer chain.
 */
export function readLayersModel(modelJson: string, shards: ReadonlyMap<string, Uint8Array>): LayersModel {
  const json = JSON.parse(modelJson) as {
    format?: string;
    modelTopology?: { model_config?: { class_name: string; config: { layers: KerasLayer[] } | KerasLayer[] } };
    weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  };
  const config = json.modelTopology?.model_config;
  if (json.format !== 'layers-model' || !config) throw new TfjsModelError('not a TensorFlow.js layers model (model.json has no layers-model topology)');
  const keras = Array.isArray(config.config) ? config.config : config.config.layers;
  const weights = readWeights(json.weightsManifest ?? [], shards);

  const [input, ...rest] = keras;
  if (input?.class_name !== 'InputLayer') throw new TfjsModelError('the model does not start with an InputLayer');
  const inputShape = ((input.config.batch_input_shape ?? input.config.batch_shape) as (number | null)[]).slice(1);
  let channels = inputShape[inputShape.length - 1];
  if (inputShape.length !== 4 || typeof channels !== 'number') throw new TfjsModelError(`expected a 3-D channels-last input, got shape [${inputShape}]`);

  const layers: Layer[] = [];
  let previous = input.name ?? (input.config.name as string);
  for (const k of rest) {
    const name = k.name ?? (k.config.name as string);
    const inbound = k.inbound_nodes;
    if (inbound && inbound.length > 0) {
      const from = (inbound as unknown[][][])[0].map((edge) => edge[0]);
      if (from.length !== 1 || from[0] !== previous) throw new TfjsModelError(`layer ${name} is not fed by the previous layer alone: only plain chains convert`);
    }
    previous = name;
    if (k.class_name === 'Activation') {
      layers.push({ kind: 'activation', name, activation: activationOf(k.config.activation, name) });
    } else if (k.class_name === 'Conv3D') {
      const c = k.config as {
        filters: number;
        kernel_size: number[];
        strides: number[];
        dilation_rate: number[] | number;
        padding: string;
        data_format: string;
        activation: string;
        use_bias: boolean;
        groups?: number;
      };
      if (c.data_format !== 'channels_last') throw new TfjsModelError(`Conv3D ${name}: data_format ${c.data_format} is not supported`);
      if (c.strides.some((s) => s !== 1)) throw new TfjsModelError(`Conv3D ${name}: strides ${c.strides} are not supported`);
      if ((c.groups ?? 1) !== 1) throw new TfjsModelError(`Conv3D ${name}: grouped convolution is not supported`);
      if (c.padding !== 'same' && c.padding !== 'valid') throw new TfjsModelError(`Conv3D ${name}: padding ${c.padding} is not supported`);
      const dilation = (Array.isArray(c.dilation_rate) ? c.dilation_rate : [c.dilation_rate, c.dilation_rate, c.dilation_rate]) as [number, number, number];
      const kernel = c.kernel_size as [number, number, number];
      const w = take(weights, `${name}/kernel`, [...kernel, channels, c.filters]);
      const bias = c.use_bias ? take(weights, `${name}/bias`, [c.filters]) : null;
      layers.push({ kind: 'conv3d', name, inChannels: channels, filters: c.filters, kernel, dilation, padding: c.padding, weights: w, bias, activation: activationOf(c.activation, name) });
      channels = c.filters;
    } else {
      throw new TfjsModelError(`layer ${name}: ${k.class_name} is not supported (only Conv3D and Activation)`);
    }
  }
  return { inputShape, layers };
}

function activationOf(value: unknown, layer: string): Activation {
  if (typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
  throw new TfjsModelError(`layer ${layer}: activation ${String(value)} is not supported`);
}

/** The named weights, cut from the shards concatenated in manifest order (float32 only). */
function readWeights(manifest: { paths: string[]; weights: WeightSpec[] }[], shards: ReadonlyMap<string, Uint8Array>): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of manifest) {
    const parts = group.paths.map((p) => {
      const bytes = shards.get(p);
      if (!bytes) throw new TfjsModelError(`weight shard ${p} is missing`);
      return bytes;
    });
    const total = parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' || w.quantization) throw new TfjsModelError(`weight ${w.name}: ${w.quantization ? 'quantised' : w.dtype} weights are not supported`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * count > total) throw new TfjsModelError(`weight shards end before ${w.name}`);
      // Copy: the shard offset need not be 4-byte aligned.
      const data = new Float32Array(all.slice(offset, offset + 4 * count).buffer);
      out.set(w.name, { shape: w.shape, data });
      offset += 4 * count;
    }
    if (offset !== total) throw new TfjsModelError(`weight shards hold ${total - offset} bytes more than the manifest describes`);
  }
  return out;
}

function take(weights: Map<string, { shape: number[]; data: Float32Array }>, name: string, shape: number[]): Float32Array {
  const w = weights.get(name);
  if (!w) throw new TfjsModelError(`weight ${name} is missing`);
  if (w.shape.length !== shape.length || w.shape.some((d, a) => d !== shape[a])) {
    throw new TfjsModelError(`weight ${name} has shape [${w.shape}], expected [${shape}]`);
  }
  return w.data;
}
