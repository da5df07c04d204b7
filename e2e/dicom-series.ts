/**
 * A DICOM MR series written from a NIfTI volume, one file per k-slice, so the studio's DICOM
 * path (dcm2niix in the browser) can be tested without shipping patient data. Explicit VR
 * little endian, 16-bit unsigned pixels, identity-like orientation; just the attributes
 * dcm2niix needs to stack the slices into a volume.
 */
import type { Volume } from '../src/core/volume';

const mrImageStorage = '1.2.840.10008.5.1.4.1.1.4';
const explicitVrLittleEndian = '1.2.840.10008.1.2.1';
const uidRoot = '2.25.1234567890'; // a 2.25 (UUID-derived) root: no registration needed

type Vr = 'UI' | 'CS' | 'DS' | 'IS' | 'PN' | 'LO' | 'DA' | 'TM' | 'US' | 'UL' | 'OB' | 'OW' | 'SH';

function element(group: number, elem: number, vr: Vr, value: string | number | Uint8Array | Uint16Array): Buffer {
  let body: Buffer;
  if (typeof value === 'string') {
    const pad = vr === 'UI' ? '\0' : ' ';
    body = Buffer.from(value.length % 2 ? value + pad : value, 'latin1');
  } else if (typeof value === 'number') {
    body = Buffer.alloc(vr === 'UL' ? 4 : 2);
    if (vr === 'UL') body.writeUInt32LE(value);
    else body.writeUInt16LE(value);
  } else {
    body = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  const long = vr === 'OB' || vr === 'OW';
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(body.length, 8);
  else head.writeUInt16LE(body.length, 6);
  return Buffer.concat([head, body]);
}

const ds = (values: readonly number[]) => values.map((v) => Number(v.toFixed(6)).toString()).join('\\');

/** One file per slice k; pixel (row j, column i) holds voxel (i, j, k), scaled into uint16. */
export function dicomSeries(volume: Volume, patientName: string): { name: string; buffer: Buffer }[] {
  const [nx, ny, nz] = volume.dims;
  const [sx, sy, sz] = volume.spacing;
  let max = 0;
  for (const v of volume.data) max = Math.max(max, v);
  const scale = max > 0 ? 4000 / max : 1;
  const study = `${uidRoot}.1`;
  const series = `${uidRoot}.2`;
  const files: { name: string; buffer: Buffer }[] = [];
  for (let k = 0; k < nz; k++) {
    const instance = `${uidRoot}.3.${k + 1}`;
    const pixels = new Uint16Array(nx * ny);
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) pixels[j * nx + i] = Math.round(volume.data[i + nx * (j + ny * k)] * scale);
    const dataset = Buffer.concat([
      element(0x0008, 0x0008, 'CS', 'ORIGINAL\\PRIMARY\\M\\ND'),
      element(0x0008, 0x0016, 'UI', mrImageStorage),
      element(0x0008, 0x0018, 'UI', instance),
      element(0x0008, 0x0020, 'DA', '20240101'),
      element(0x0008, 0x0030, 'TM', '120000'),
      element(0x0008, 0x0060, 'CS', 'MR'),
      element(0x0008, 0x0070, 'LO', 'SEAHORSE TEST'),
      element(0x0008, 0x103e, 'LO', 'T1 MPRAGE test series'),
      element(0x0010, 0x0010, 'PN', patientName),
      element(0x0010, 0x0020, 'LO', 'TEST0001'),
      element(0x0018, 0x0050, 'DS', ds([sz])),
      element(0x0018, 0x0088, 'DS', ds([sz])),
      element(0x0020, 0x000d, 'UI', study),
      element(0x0020, 0x000e, 'UI', series),
      element(0x0020, 0x0011, 'IS', '1'),
      element(0x0020, 0x0013, 'IS', String(k + 1)),
      element(0x0020, 0x0032, 'DS', ds([0, 0, k * sz])),
      element(0x0020, 0x0037, 'DS', ds([1, 0, 0, 0, 1, 0])),
      element(0x0028, 0x0002, 'US', 1),
      element(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
      element(0x0028, 0x0010, 'US', ny),
      element(0x0028, 0x0011, 'US', nx),
      element(0x0028, 0x0030, 'DS', ds([sy, sx])),
      element(0x0028, 0x0100, 'US', 16),
      element(0x0028, 0x0101, 'US', 16),
      element(0x0028, 0x0102, 'US', 15),
      element(0x0028, 0x0103, 'US', 0),
      element(0x7fe0, 0x0010, 'OW', pixels),
    ]);
    const metaBody = Buffer.concat([
      element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
      element(0x0002, 0x0002, 'UI', mrImageStorage),
      element(0x0002, 0x0003, 'UI', instance),
      element(0x0002, 0x0010, 'UI', explicitVrLittleEndian),
    ]);
    const buffer = Buffer.concat([
      Buffer.alloc(128),
      Buffer.from('DICM', 'latin1'),
      element(0x0002, 0x0000, 'UL', metaBody.length),
      metaBody,
      dataset,
    ]);
    files.push({ name: `IM${String(k + 1).padStart(4, '0')}`, buffer });
  }
  return files;
}
