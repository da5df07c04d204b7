import { DataType, onnx, type ModelProto } from '../proto';
import type { Activation, LayersModel } from './layers';

/**
 * A TensorFlow.js layer chain (see layers.ts) as an ONNX model (opset 17) that
 * onnxruntime runs: input `input` [1, C, D, H, W] (NCDHW: the TF model's channels moved
 * first, spatial axes in the same order), output `output` [1, classes, D, H, W]. The
 * network is fully convolutional, so D, H, W are left free (the models were trained on
 * 256³ conformed volumes, which is what the pipeline feeds them).
 * Conv3D kernels go from TF's [kd, kh, kw, in, out] to ONNX's [out, in, kd, kh, kw];
 * 'same' padding is explicit, with the odd voxel at the end as TensorFlow puts it.
 */
export const OPSET = 17;

const INTS = onnx.AttributeProto.AttributeType.INTS;
const FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
const INT = onnx.AttributeProto.AttributeType.INT;

export function layersToOnnx(model: LayersModel, name = 'tfjs-layers'): ModelProto {
  const nodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
  const initializer: ReturnType<typeof onnx.TensorProto.create>[] = [];
  let current = 'input';
  let count = 0;
  const next = (label: string) => `${label}_${count++}`;
  const activate = (activation: Activation, layer: string) => {
    if (activation === 'linear') return;
    const out = next(layer);
    const op = { relu: 'Relu', elu: 'Elu', sigmoid: 'Sigmoid', softmax: 'Softmax' }[activation];
    const attribute =
      activation === 'elu' ? [{ name: 'alpha', type: FLOAT, f: 1 }] : activation === 'softmax' ? [{ name: 'axis', type: INT, i: 1 }] : [];
    nodes.push(onnx.NodeProto.create({ opType: op, name: out, input: [current], output: [out], attribute }));
    current = out;
  };
  for (const layer of model.layers) {
    if (layer.kind === 'activation') {
      activate(layer.activation, layer.name);
      continue;
    }
    const [kd, kh, kw] = layer.kernel;
    const ci = layer.inChannels;
    const co = layer.filters;
    const w = new Float32Array(layer.weights.length);
    // TF [a, b, c, i, o] → ONNX [o, i, a, b, c]
    for (let a = 0; a < kd; a++) {
      for (let b = 0; b < kh; b++) {
        for (let c = 0; c < kw; c++) {
          for (let i = 0; i < ci; i++) {
            for (let o = 0; o < co; o++) {
              w[(((o * ci + i) * kd + a) * kh + b) * kw + c] = layer.weights[(((a * kh + b) * kw + c) * ci + i) * co + o];
            }
          }
        }
      }
    }
    const wName = `${layer.name}/kernel`;
    initializer.push(onnx.TensorProto.create({ name: wName, dims: [co, ci, kd, kh, kw], dataType: DataType.FLOAT, rawData: new Uint8Array(w.buffer) }));
    const inputs = [current, wName];
    if (layer.bias) {
      const bName = `${layer.name}/bias`;
      initializer.push(onnx.TensorProto.create({ name: bName, dims: [co], dataType: DataType.FLOAT, rawData: new Uint8Array(layer.bias.slice().buffer) }));
      inputs.push(bName);
    }
    const pads = [0, 0, 0, 0, 0, 0];
    if (layer.padding === 'same') {
      layer.kernel.forEach((k, axis) => {
        const total = layer.dilation[axis] * (k - 1);
        pads[axis] = Math.floor(total / 2);
        pads[axis + 3] = total - pads[axis];
      });
    }
    const out = next(layer.name);
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Conv',
        name: out,
        input: inputs,
        output: [out],
        attribute: [
          { name: 'kernel_shape', type: INTS, ints: [kd, kh, kw] },
          { name: 'dilations', type: INTS, ints: [...layer.dilation] },
          { name: 'strides', type: INTS, ints: [1, 1, 1] },
          { name: 'pads', type: INTS, ints: pads },
        ],
      }),
    );
    current = out;
    activate(layer.activation, layer.name);
  }
  // Name the last tensor `output`.
  const last = nodes[nodes.length - 1];
  if (!last) throw new Error('the model has no layers');
  last.output = ['output'];
  const channels = model.inputShape[3] as number;
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'seahorse tfjs-to-onnx',
    graph: {
      name,
      node: nodes,
      initializer,
      input: [{ name: 'input', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: channels }, { dimParam: 'D' }, { dimParam: 'H' }, { dimParam: 'W' }] } } } }],
      output: [{ name: 'output', type: { tensorType: { elemType: DataType.FLOAT } } }],
    },
  });
}
