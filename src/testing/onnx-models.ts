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
