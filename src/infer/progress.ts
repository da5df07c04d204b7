/** Progress of one segmentation run, as the worker reports it to the UI. */
export type Progress =
  | { readonly stage: 'preprocess' }
  /** Full head: reading and preparing the brain template (once per worker). */
  | { readonly stage: 'template' }
  /** Full head: registering the scan to the template to find both hippocampi. */
  | { readonly stage: 'localise' }
  | { readonly stage: 'window'; readonly index: number; readonly total: number }
  | { readonly stage: 'postprocess' }
  | { readonly stage: 'done' };
