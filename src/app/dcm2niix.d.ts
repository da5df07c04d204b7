// Types for the parts of @niivue/dcm2niix (which ships none) that the studio uses.
declare module '@niivue/dcm2niix' {
  export class Dcm2niix {
    worker: Worker | null;
    /** Starts the converter's own worker and loads its wasm. */
    init(): Promise<boolean>;
    input(files: ArrayLike<File>): Dcm2niixRun;
  }
  export interface Dcm2niixRun {
    /** BIDS JSON sidecar: y, n, or o (only the sidecar). */
    bids(value: 'y' | 'n' | 'o'): this;
    /** gz compression: y (pigz), o, i (internal), n, 3. */
    gzip(value: 'y' | 'o' | 'i' | 'n' | '3'): this;
    /** Converts; resolves with the output files (NIfTI images and sidecars). */
    run(): Promise<File[]>;
  }
}
