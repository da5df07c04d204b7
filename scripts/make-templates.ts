// Regenerates models/templates/ from Debian's mricron-data (BSD-3-Clause):
//   apt-get install mricron-data     # puts ch2, ch2bet and aal in /usr/share/mricron/templates
//   npx tsx scripts/make-templates.ts [sourceDir]
// ch2 and aal are also in ../shared/data/templates (identical files); ch2bet only in the package.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { templateBrain, templateHippocampus, templateT1 } from '../src/core/fullhead/template-build';
import { TEMPLATE_FILES } from '../src/core/fullhead/template';
import { templatesDir } from '../src/core/fullhead/template-node';
import { readVolume, writeNifti } from '../src/core/io';

/** NIfTI xform code 4: MNI-152 space (ch2 and AAL are in MNI space). */
const XFORM_MNI = 4;
const source = process.argv[2] ?? '/usr/share/mricron/templates';
const read = (name: string) => readVolume(new Uint8Array(readFileSync(join(source, name))), name);

const outputs = {
  [TEMPLATE_FILES.t1]: { vol: templateT1(read('ch2.nii.gz')), description: 'Colin27 ch2 (mricron-data), 2 mm block mean' },
  [TEMPLATE_FILES.brain]: { vol: templateBrain(read('ch2bet.nii.gz')), description: 'ch2bet brain fraction x255, 2 mm' },
  [TEMPLATE_FILES.hippocampus]: { vol: templateHippocampus(read('aal.nii.gz')), description: 'AAL 37->1 (L), 38->2 (R), 1 mm crop' },
};
for (const [name, { vol, description }] of Object.entries(outputs)) {
  const bytes = writeNifti(vol, { xformCode: XFORM_MNI, description });
  writeFileSync(join(templatesDir, name), bytes);
  console.log(`${name}: ${vol.dims.join('×')}, ${bytes.length} bytes`);
}
