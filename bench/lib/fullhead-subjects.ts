import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { caseList } from '../../src/cli/eval';
import { readVolume } from '../../src/core/io';
import type { Volume } from '../../src/core/volume';
import { dataDir } from '../../src/testing/shared';

/** The FreeSurfer-labelled subjects of ../shared/data/fullhead_labelled: image and aseg, relative to that folder. */
export const FULLHEAD_SUBJECTS: Readonly<Record<string, readonly [string, string]>> = {
  bert: ['bert/norm.mgz', 'bert/aseg.mgz'],
  vxm_subject: ['vxm_subject/t1.nii.gz', 'vxm_subject/aseg.nii.gz'],
};

/**
 * The labelled scans a benchmark of the prompt tool runs on: `subjects` (comma-separated) of
 * `dataFolder` (images/ and labels/ of the same names), else all its cases, else the
 * FreeSurfer-labelled subjects; each read when asked for.
 */
export function labelledScans(dataFolder: string | undefined, subjects: string | undefined): { readonly name: string; read(): { image: Volume; labels: Volume } }[] {
  const folder = dataFolder && resolve(dataFolder);
  const names = subjects?.split(',') ?? (folder ? caseList(folder, undefined, undefined) : Object.keys(FULLHEAD_SUBJECTS));
  const readAt = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);
  return names.map((name) => ({
    name,
    read: () => {
      const [image, labels] = folder ? [join(folder, 'images', name), join(folder, 'labels', name)] : FULLHEAD_SUBJECTS[name].map((rel) => join(dataDir, 'fullhead_labelled', rel));
      return { image: readAt(image), labels: readAt(labels) };
    },
  }));
}
