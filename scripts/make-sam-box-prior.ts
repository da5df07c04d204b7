// Regenerates models/sam/box-prior.json, the shape prior of a structure inside its 3-D box
// (src/sam/box-prior.ts), from SynthSeg's label maps 01–18 (19 and 20 make the validation heads):
//   npx tsx scripts/make-sam-box-prior.ts [labelMapsDir] [output]
// (defaults: ../shared/data/synthseg_label_maps, models/sam/box-prior.json; src/sam/box-prior.test.ts
// checks that the shipped file is what this makes)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume } from '../src/core/io';
import { BOX_PRIOR_FILE, buildBoxPrior, encodeBoxPrior, type LabelMap } from '../src/sam/box-prior';
import { samModelsDir } from '../src/sam/model-files-node';
import { DEFAULT_SAM_STRUCTURES } from '../src/sam/training-data';

/** 16³ cells: 8³ scored 1.5 points lower on validation, 24³ the same as 16³ (bench/RESULTS.md). */
const GRID = 16;
/**
 * Boxes of the bounding box + 0 to 4 voxels: a box drawn by hand is not exactly + 2. Against + 2
 * alone it cost 0.3 points on the validation heads' + 2 boxes (bench/RESULTS.md).
 */
const MARGINS = [0, 1, 2, 3, 4];
const MAPS = Array.from({ length: 18 }, (_, i) => `training_seg_${String(i + 1).padStart(2, '0')}.nii.gz`);

const dir = process.argv[2] ?? join(import.meta.dirname, '../../shared/data/synthseg_label_maps');
function* maps(): Generator<LabelMap> {
  for (const name of MAPS) {
    const vol = readVolume(new Uint8Array(readFileSync(join(dir, name))), name);
    console.log(`${name}: ${vol.dims.join('×')}`);
    yield vol;
  }
}
const prior = buildBoxPrior(maps(), DEFAULT_SAM_STRUCTURES, MARGINS, GRID);
const file = encodeBoxPrior(prior, {
  description: `Occupancy of each structure over its bounding box + ${MARGINS[0]}–${MARGINS.at(-1)} voxels, ${GRID}³ cells along R, A, S, mean of ${MAPS.length} label maps × ${MARGINS.length} margins`,
  source: `SynthSeg label maps ${MAPS[0]} … ${MAPS.at(-1)} (../shared/data/synthseg_label_maps; FreeSurfer aseg codes)`,
  licence: 'Apache-2.0 (SynthSeg label maps, LICENSE_SynthSeg_Apache-2.0.txt)',
  command: 'npx tsx scripts/make-sam-box-prior.ts',
});
const path = process.argv[3] ?? join(samModelsDir, BOX_PRIOR_FILE);
writeFileSync(path, JSON.stringify(file, null, 1) + '\n');
console.log(`wrote ${path}: ${prior.structures.size} structures`);
