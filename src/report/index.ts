/** Segmentation reports: content (report.ts), pictures (slices.ts), writers (pdf.ts, html.ts). */
export { buildReport, NOT_A_MEDICAL_DEVICE, viewCaption, type Report, type ReportInput, type ReportRegistration } from './report';
export { reportPdf } from './pdf';
export { reportHtml } from './html';
export { volumeRows, type VolumeRow } from './volume-rows';
import pkg from '../../package.json' with { type: 'json' };

/** The software line of a report, e.g. `Seahorse 0.1.0 (CLI)`. */
export function softwareName(where: 'studio' | 'CLI'): string {
  return `Seahorse ${pkg.version} (${where})`;
}

/** The report format a file name asks for, or null when it is neither. */
export function reportFormat(fileName: string): 'pdf' | 'html' | null {
  if (/\.pdf$/i.test(fileName)) return 'pdf';
  if (/\.html?$/i.test(fileName)) return 'html';
  return null;
}
