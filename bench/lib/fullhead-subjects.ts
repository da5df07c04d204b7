/** The FreeSurfer-labelled subjects of ../shared/data/fullhead_labelled: image and aseg, relative to that folder. */
export const FULLHEAD_SUBJECTS: Readonly<Record<string, readonly [string, string]>> = {
  bert: ['bert/norm.mgz', 'bert/aseg.mgz'],
  vxm_subject: ['vxm_subject/t1.nii.gz', 'vxm_subject/aseg.nii.gz'],
};
