// Regenerates src/peft/linalg/kernels-binary.ts from kernels.wat: `npm run build:kernels`.
import { writeFileSync } from 'node:fs';
import { assembleKernels, binaryModuleSource } from '../src/peft/linalg/assemble-kernels';

const bytes = await assembleKernels();
writeFileSync(new URL('../src/peft/linalg/kernels-binary.ts', import.meta.url), binaryModuleSource(bytes));
console.log(`kernels-binary.ts: ${bytes.length} bytes of WebAssembly`);
