/** One-node ONNX models (built with onnx-proto) for the reference side of the engine benchmark. */
import onnxProto from 'onnx-proto';

const onnx = onnxProto.onnx;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(name: string, shape: readonly number[]) {
  const dim = shape.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d }));
  const tensorType = onnx.TypeProto.Tensor.create({ elemType: FLOAT, shape: onnx.TensorShapeProto.create({ dim }) });
  return onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType }) });
}

/** Weights are graph inputs, not initializers, so nothing is constant-folded or pre-packed. */
function model(node: InstanceType<typeof onnx.NodeProto>, inputs: [string, readonly number[]][], output: [string, readonly number[]]): Uint8Array {
  const graph = onnx.GraphProto.create({ name: 'bench', node: [node], input: inputs.map(([n, s]) => valueInfo(n, s)), output: [valueInfo(...output)] });
  const opset = [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })];
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: opset, graph })).finish();
}

export function matmulModel(M: number, N: number, K: number): Uint8Array {
  return model(onnx.NodeProto.create({ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }), [['a', [M, K]], ['b', [K, N]]], ['c', [M, N]]);
}

/** Conv3d, stride 1, symmetric padding `pad`. */
export function convModel(x: readonly number[], w: readonly number[], pad: number): Uint8Array {
  const out = [x[0], w[0], ...x.slice(2).map((d, i) => d + 2 * pad - w[2 + i] + 1)];
  const pads = onnx.AttributeProto.create({ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [pad, pad, pad, pad, pad, pad] });
  return model(onnx.NodeProto.create({ opType: 'Conv', input: ['x', 'w'], output: ['y'], attribute: [pads] }), [['x', x], ['w', w]], ['y', out]);
}
