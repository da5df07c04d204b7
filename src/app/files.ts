/**
 * What the user gave us: one scan file, several (batch mode), or a set of DICOM files (a folder). The core reader
 * decides whether a scan file is valid; this only routes and catches what is plainly wrong
 * before any bytes are read.
 */

/** Larger files are refused up front: a browser tab cannot hold them twice (display + model). */
export const maxScanBytes = 1024 ** 3;

/** Scan file extensions: one such file among others makes a drop a scan, several a batch. */
const displayExtensions = ['.nii.gz', '.nii', '.mgz', '.mgh'] as const;

const dicomExtension = /\.(dcm|dicom|ima)$/i;

export type Intake =
  | { readonly kind: 'scan'; readonly file: File }
  /** Several scans (a folder, a BIDS dataset): batch mode; participants.tsv when it came along. */
  | { readonly kind: 'batch'; readonly files: readonly File[]; readonly participants: File | null }
  | { readonly kind: 'dicom'; readonly files: readonly File[] }
  | { readonly kind: 'refused'; readonly message: string };

/** Routes a picked or dropped set of files. */
export function intake(files: readonly File[]): Intake {
  const real = files.filter((f) => !isHidden(f.name));
  if (real.length === 0) return { kind: 'refused', message: 'No file was given.' };
  if (real.length === 1 && !dicomExtension.test(real[0].name)) return checkScan(real[0]);
  const volumes = real.filter(isVolumeName);
  if (volumes.length === 1) return checkScan(volumes[0]);
  if (volumes.length > 1) {
    const tooBig = volumes.find((f) => f.size > maxScanBytes);
    if (tooBig) return checkScan(tooBig);
    return { kind: 'batch', files: volumes, participants: real.find((f) => f.name === 'participants.tsv') ?? null };
  }
  // Several files, or one .dcm: a DICOM series (folders hold slices with or without .dcm).
  return { kind: 'dicom', files: real };
}

function isVolumeName(file: File): boolean {
  const lower = file.name.toLowerCase();
  return displayExtensions.some((ext) => lower.endsWith(ext));
}

function checkScan(file: File): Intake {
  if (file.size === 0) return { kind: 'refused', message: `“${file.name}” is empty (0 bytes).` };
  if (file.size > maxScanBytes) {
    return {
      kind: 'refused',
      message: `“${file.name}” is ${(file.size / 1024 ** 3).toFixed(1)} GiB; the studio opens scans up to 1 GiB.`,
    };
  }
  return { kind: 'scan', file };
}

/** `.DS_Store`, `._x` and friends come along with dropped folders. */
function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** `sub-01_T1w.nii.gz` → `sub-01_T1w` (for naming exports after the scan). */
export function scanStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/(\.nii\.gz|\.nii|\.mgz|\.mgh|\.gz)$/i, '') || 'scan';
}

/**
 * All files under a drop, folders walked recursively. DICOM conversion wants each file's
 * path inside the folder; dropped files lack `webkitRelativePath`, so dcm2niix reads
 * `_webkitRelativePath`, which we set. Must be called inside the drop event (the entries
 * are taken before the first await).
 */
export async function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const entries = Array.from(transfer.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.() ?? null)
    .filter((entry): entry is FileSystemEntry => entry !== null);
  // Synthetic drops (scripts, some browsers) carry plain files without entries.
  if (entries.length === 0) return Array.from(transfer.files);
  const files: File[] = [];
  for (const entry of entries) await walk(entry, files);
  return files;
}

async function walk(entry: FileSystemEntry, into: File[]): Promise<void> {
  if (isFileEntry(entry)) {
    const file = await new Promise<File>((resolve, reject) => entry.file(resolve, reject));
    Object.defineProperty(file, '_webkitRelativePath', { value: entry.fullPath.replace(/^\//, '') });
    into.push(file);
    return;
  }
  if (isDirectoryEntry(entry)) {
    const reader = entry.createReader();
    // readEntries returns at most ~100 entries per call; read until it returns none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, into);
    }
  }
}

function isFileEntry(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile;
}

function isDirectoryEntry(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory;
}
