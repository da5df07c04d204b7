// Run an exported model with onnxruntime-node (CPU) on a raw float32 input; write the
// raw float32 logits. Used by training/export.py for the PyTorch-vs-ORT parity check.
//   node training/ort_check.mjs model.onnx input.bin 1,1,32,64,32 output.bin
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [modelPath, inputPath, dimsArg, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node training/ort_check.mjs model.onnx input.bin D0,D1,... output.bin');
  process.exit(2);
}
const dims = dimsArg.split(',').map(Number);
const bytes = readFileSync(inputPath);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const session = await ort.InferenceSession.create(modelPath);
const result = await session.run({ image: new ort.Tensor('float32', data, dims) });
const logits = result.logits.data;
writeFileSync(outputPath, Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
