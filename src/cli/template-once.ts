/**
 * The prepared template for the CLI commands that may meet several full heads. A module of its
 * own, apart from the cache it reads: `segment`'s template thread (template-worker.ts) imports
 * the cache alone, and so stays clear of the segmentation pipeline's modules.
 */
import type { PreparedTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { preparedTemplateOnce, templateOnce } from '../infer/segment-scan';
import { bundleFolder } from './bundle';
import { preparedTemplateCached } from './template-cache';

/**
 * The prepared template, once per process, for a command that may meet several full heads
 * (`eval`, `bids` and its workers, `finetune`): from the bundle, through its folder's cache as
 * `segment`'s template thread reads it; from source (where nothing ties a cache to the code),
 * read and prepared.
 */
export function cliTemplateOnce(): () => Promise<PreparedTemplate> {
  const folder = bundleFolder();
  return folder ? preparedTemplateOnce(async () => (await preparedTemplateCached(folder)).prepared) : templateOnce(readTemplate);
}
