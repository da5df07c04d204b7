/** Progress of one segmentation run, as the worker reports it to the UI. */
export type Progress =
  | { readonly stage: 'preprocess' }
  | { readonly stage: 'window'; readonly index: number; readonly total: number }
  | { readonly stage: 'postprocess' }
  | { readonly stage: 'done' };
