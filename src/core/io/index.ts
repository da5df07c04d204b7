/** Scan file IO: read NIfTI/MGH into a Volume, write NIfTI, and the errors a user sees. */
export { readVolume, SUPPORTED_FORMATS, type ReadOptions } from './read-volume';
export { writeNifti, type WriteNiftiOptions } from './nifti-write';
export { VolumeReadError, type VolumeProblem } from './errors';
export { validateVolume, VOXEL_LIMIT } from './validate';
