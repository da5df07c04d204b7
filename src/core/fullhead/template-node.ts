import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipNode } from '../io/gunzip-node';
import type { Template, TemplateBytes } from './template';
import { TEMPLATE_FILES, parseTemplate } from './template';

/** `models/templates/` of this checkout. */
export const templatesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/templates');

/** The shipped template's three files, as they are on disk. */
export function readTemplateBytes(dir = templatesDir): TemplateBytes {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  return { t1: read(TEMPLATE_FILES.t1), brain: read(TEMPLATE_FILES.brain), hippocampus: read(TEMPLATE_FILES.hippocampus) };
}

/** Reads the shipped template from disk (Node: CLI, tests, benchmarks). */
export function readTemplate(dir = templatesDir): Template {
  return parseTemplateNode(readTemplateBytes(dir));
}

/** `parseTemplate` with Node's native gunzip. */
export function parseTemplateNode(bytes: TemplateBytes): Template {
  return parseTemplate(bytes, { gunzip: gunzipNode });
}
