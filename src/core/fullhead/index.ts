/**
 * Full-head scans: decide full head vs crop, conform, register to the MNI template,
 * box both hippocampi (oriented like the MSD training crops), estimate intracranial
 * volume, and draw the registration for the UI. Pure TS: runs in the worker and in Node
 * (`readTemplate` from './template-node' reads the shipped template from disk in Node;
 * the browser fetches the TEMPLATE_FILES and calls `parseTemplate`).
 */
export {
  classifyScan,
  choosePath,
  fieldOfViewMm,
  ScanKindError,
  CROP_MAX_EXTENT_MM,
  FULL_HEAD_MIN_EXTENT_MM,
  type ScanKind,
  type ScanPath,
  type ScanClassification,
} from './detect';
export { conform, conformedGrid, CONFORMED_MM } from './conform';
export {
  localise,
  assertLocalised,
  betterLocalisation,
  prepareTemplate,
  coverage,
  LocalisationError,
  LEVELS_MM,
  RESCUE_START_PITCHES_DEG,
  RESCUE_START_TURNS_DEG,
  NCC_FAILED,
  NCC_POOR,
  BRAIN_NCC_FAILED,
  BRAIN_NCC_POOR,
  MIN_BRAIN_COVERAGE,
  MIN_HIPPOCAMPUS_IN_VIEW,
  type Localisation,
  type LocalisationProblem,
  type PreparedTemplate,
  type BrainPrior,
  type LocaliseOptions,
  type RegistrationStart,
  type IcvSource,
} from './localise';
export { extractBox, extractBoxLabels, boxToConformed, MSD_ORIENTATION, ROI_MARGIN_MM, type HippocampusBox } from './roi';
export { templateOutline, OUTLINE_BRAIN, OUTLINE_HIPPOCAMPUS } from './outline';
export { pasteBoxMasks, type BoxMask } from './paste';
export { parseTemplate, templateBrainMm3, TEMPLATE_FILES, type Template, type TemplateBytes } from './template';
export { LEFT, RIGHT } from './template-build';
export {
  localiserGrid,
  localiserInput,
  localiserResample,
  decodeLocaliser,
  volumeToTensor,
  LOCALISER_SIZE,
  LOCALISER_SPACING_MM,
  LOCALISER_CLASSES,
  type LocalisedSide,
  type LocaliserMeasures,
} from './localiser-grid';
export {
  checkMasks,
  MaskRefusedError,
  VOLUME_LIMITS,
  type QcCheck,
  type QcFinding,
  type QcProtocol,
  type QcReport,
  type SideEvidence,
} from './qc';
