// Regenerates the committed WebAssembly from its WAT sources: `npm run build:kernels`.
// src/peft/linalg/kernels.wat → kernels-binary.ts (t-SVD); src/engine/wasm/kernels.wat →
// kernels-binary.ts (the wasm engine backend, four variants).
import { writeFileSync } from 'node:fs';
import { assembleKernels, binaryModuleSource } from '../src/peft/linalg/assemble-kernels';
import { assembleEngineKernels, engineBinarySource } from '../src/engine/wasm/assemble';

const bytes = await assembleKernels();
writeFileSync(new URL('../src/peft/linalg/kernels-binary.ts', import.meta.url), binaryModuleSource(bytes));
console.log(`linalg kernels-binary.ts: ${bytes.length} bytes of WebAssembly`);
const engine = await assembleEngineKernels();
writeFileSync(new URL('../src/engine/wasm/kernels-binary.ts', import.meta.url), engineBinarySource(engine));
console.log(`engine kernels-binary.ts: ${engine.map((b) => b.length).join(', ')} bytes of WebAssembly`);
