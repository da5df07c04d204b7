/** TensorFlow.js layers models (brainchop's MeshNet) → ONNX. */
export { readLayersModel, TfjsModelError, type LayersModel, type Layer, type Conv3dLayer, type Activation } from './layers';
export { layersToOnnx, OPSET } from './to-onnx';
