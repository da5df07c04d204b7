/** What a model declares: its inputs, outputs and initializers (name, dims, dtype). */
import { dataTypeName, graphOf, initializersOf, inputsOf, outputsOf, toNumber, type ModelProto, type ValueInfoProto } from './proto';

export interface TensorInfo {
  readonly name: string;
  /** Sizes; a symbolic dimension is its name, an unknown one is null. */
  readonly dims: readonly (number | string | null)[];
  readonly dtype: string;
}

export interface ModelDescription {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly initializers: readonly TensorInfo[];
  readonly opset: number;
  readonly producer: string;
}

function valueInfo(v: ValueInfoProto): TensorInfo {
  const t = v.type?.tensorType;
  // Dimension is a oneof: `value` names the field that is set.
  const dims = (t?.shape?.dim ?? []).map((d) => {
    const which = (d as { value?: string }).value;
    return which === 'dimValue' ? toNumber(d.dimValue) : which === 'dimParam' ? (d.dimParam ?? null) : null;
  });
  return { name: v.name, dims, dtype: dataTypeName(t?.elemType ?? 0) };
}

export function describeModel(model: ModelProto): ModelDescription {
  const graph = graphOf(model);
  const initNames = new Set(initializersOf(graph).map((t) => t.name));
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    // Old exporters list initializers among the inputs too; those are weights, not inputs.
    inputs: inputsOf(graph).filter((v) => !initNames.has(v.name)).map(valueInfo),
    outputs: outputsOf(graph).map(valueInfo),
    initializers: initializersOf(graph).map((t) => ({ name: t.name, dims: t.dims.map(toNumber), dtype: dataTypeName(t.dataType) })),
    opset: opset ? toNumber(opset.version) : 0,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
  };
}

/**
 * The model's spatial input size [D, H, W] from its graph: a single input of shape
 * [1, 1, D, H, W] with fixed sizes, which is what the segmentation pipeline feeds.
 */
export function modelInputSize(model: ModelProto): [number, number, number] {
  const { inputs } = describeModel(model);
  if (inputs.length !== 1) throw new Error(`expected a model with one input image, found ${inputs.length} inputs`);
  const [input] = inputs;
  const dims = input.dims;
  const fixed = dims.length === 5 && dims.every((d) => typeof d === 'number' && d > 0);
  if (!fixed || dims[0] !== 1 || dims[1] !== 1) {
    throw new Error(`the model input "${input.name}" has shape [${dims.map((d) => d ?? '?').join(', ')}]; Seahorse needs [1, 1, D, H, W] with fixed sizes`);
  }
  return [dims[2] as number, dims[3] as number, dims[4] as number];
}
