/**
 * Tiny real ONNX models for pipeline and CLI tests, built with onnx-proto and run by
 * onnxruntime like any other model. Their output is known analytically, so tests can
 * check geometry (orientation, resampling, mapping back) exactly.
 */
import { DataType, onnx, serializeModel } from '../onnx/proto';

/**
 * "Above the mean": a 1×1×1 Conv with weights [−1, +1] and no bias, so the logits are
 * [−x, x] and argmax is class 1 exactly where the normalised intensity is > 0, i.e.
 * (with z-score normalisation) where the voxel is brighter than the mean.
 */
export function aboveMeanModel(inputSize: readonly [number, number, number]): Uint8Array {
  const weight = Float32Array.of(-1, 1);
  const tensor = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
  return serializeModel(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'seahorse-tests',
      graph: {
        name: 'above_mean',
        node: [{ opType: 'Conv', name: 'sign', input: ['image', 'w'], output: ['logits'], attribute: [{ name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1] }] }],
        initializer: [{ name: 'w', dims: [2, 1, 1, 1, 1], dataType: DataType.FLOAT, rawData: new Uint8Array(weight.buffer) }],
        input: [{ name: 'image', type: tensor([1, 1, ...inputSize]) }],
        output: [{ name: 'logits', type: tensor([1, 2, ...inputSize]) }],
      },
    }),
  );
}

/**
 * "Which way is it brighter": a 3×3×1 Conv (zero padding, no bias) with logits
 * [0, x(i+1) − x(i−1), x(j+1) − x(j−1)] along the window's D (voxel i) and H (voxel j)
 * axes. Class 1 where the intensity rises along i (and at least as fast as along j),
 * class 2 where it rises faster along j. Its answer flips when an axis is mirrored, so
 * tests can tell in which orientation a model was given its input.
 */
export function directionalModel(inputSize: readonly [number, number, number]): Uint8Array {
  // Weights [class, 1, kd, kh, 1]: class 1 differentiates along D at kh = 1, class 2 along H at kd = 1.
  const weight = new Float32Array(3 * 3 * 3);
  const at = (c: number, d: number, h: number) => (c * 3 + d) * 3 + h;
  weight[at(1, 0, 1)] = -1;
  weight[at(1, 2, 1)] = 1;
  weight[at(2, 1, 0)] = -1;
  weight[at(2, 1, 2)] = 1;
  const ints = onnx.AttributeProto.AttributeType.INTS;
  const tensor = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
  return serializeModel(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'seahorse-tests',
      graph: {
        name: 'directional',
        node: [
          {
            opType: 'Conv',
            name: 'gradients',
            input: ['image', 'w'],
            output: ['logits'],
            attribute: [
              { name: 'kernel_shape', type: ints, ints: [3, 3, 1] },
              { name: 'pads', type: ints, ints: [1, 1, 0, 1, 1, 0] },
            ],
          },
        ],
        initializer: [{ name: 'w', dims: [3, 1, 3, 3, 1], dataType: DataType.FLOAT, rawData: new Uint8Array(weight.buffer) }],
        input: [{ name: 'image', type: tensor([1, 1, ...inputSize]) }],
        output: [{ name: 'logits', type: tensor([1, 3, ...inputSize]) }],
      },
    }),
  );
}
