/**
 * `node .cache/cli/template-cache-warm.mjs <bundle folder>`: fills the bundle's prepared-template
 * cache (template-cache.ts). scripts/build-cli.mjs runs it after each build, so that the first
 * `seahorse segment` after an install reads the cache like every later one.
 */
import { preparedTemplateCached } from './template-cache';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: template-cache-warm.mjs <bundle folder>');
await preparedTemplateCached(dir);
