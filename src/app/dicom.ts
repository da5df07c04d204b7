/**
 * DICOM series → NIfTI in the browser with NiiVue's dcm2niix (wasm, in its own worker).
 * dcm2niix's worker creates its scratch folders once, so each conversion gets a fresh one.
 */
import { Dcm2niix } from '@niivue/dcm2niix';

export interface ConvertedSeries {
  /** The largest series, as an uncompressed NIfTI file. */
  readonly file: File;
  /** How many image series the files held. */
  readonly seriesCount: number;
}

export async function dicomToNifti(files: readonly File[]): Promise<ConvertedSeries> {
  const converter = new Dcm2niix();
  try {
    await converter.init();
    const output = await converter.input(files).bids('n').gzip('n').run();
    const series = output.filter((f) => /\.nii(\.gz)?$/i.test(f.name)).sort((a, b) => b.size - a.size);
    if (series.length === 0) {
      throw new Error(`no image series found in ${files.length} file(s); are they DICOM?`);
    }
    return { file: series[0], seriesCount: series.length };
  } finally {
    converter.worker?.terminate();
  }
}
