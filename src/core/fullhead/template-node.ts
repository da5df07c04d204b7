import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipNode } from '../io/gunzip-node';
import type { Template } from './template';
import { TEMPLATE_FILES, parseTemplate } from './template';

/** `models/templates/` of this checkout. */
export const templatesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/templates');

/** Reads the shipped template from disk (Node: CLI, tests, benchmarks). */
export function readTemplate(dir = templatesDir): Template {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  return parseTemplate(
    {
      t1: read(TEMPLATE_FILES.t1),
      brain: read(TEMPLATE_FILES.brain),
      hippocampus: read(TEMPLATE_FILES.hippocampus),
    },
    { gunzip: gunzipNode },
  );
}
