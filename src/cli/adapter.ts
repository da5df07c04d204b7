/** Reading and describing adapter files on the command line. */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ADAPTER_EXTENSION, decodeAdapter, type Adapter } from '../peft/adapter-file';
import { METHODS, type ResolvedMethodConfig } from '../peft/methods';

export { ADAPTER_EXTENSION };

export async function readAdapterFile(path: string): Promise<Adapter> {
  if (!existsSync(path)) throw new Error(`adapter file not found: ${path}`);
  return decodeAdapter(new Uint8Array(readFileSync(path)), `adapter file ${basename(path)}`);
}

/** "LoRA-PT (ranks W_up 1, W_sa 1, W_down 1; decoder trained)" and the like. */
export function describeMethod(m: ResolvedMethodConfig): string {
  const label = METHODS[m.method]?.label ?? m.method;
  switch (m.method) {
    case 'full':
    case 'decoder':
      return label;
    case 'lorapt':
      return `${label} (ranks ${Object.entries(m.ranks).map(([t, r]) => `${t} ${r}`).join(', ')}${m.trainDecoder ? '; decoder trained' : ''})`;
    case 'hyps':
      return `${label} (rank ${m.rank}, adapter width ${m.adapterDim}${m.trainDecoder ? '; decoder trained' : ''})`;
    case 'lora':
      return `${label} (rank ${m.rank}, alpha ${m.alpha}${m.trainDecoder ? '; decoder trained' : ''})`;
    case 'pissa':
      return `${label} (rank ${m.rank}${m.trainDecoder ? '; decoder trained' : ''})`;
  }
}

export function describeAdapter(a: Adapter): string {
  const steps = typeof a.training.steps === 'number' ? `, ${a.training.steps} steps` : '';
  return `${describeMethod(a.method)}${steps}, base ${a.base.label ?? a.base.kind} (weights ${a.base.fingerprint.slice(0, 12)}…)`;
}
