import type { Mat4 } from '../volume';
import type { Datatype } from './datatypes';

/** What a format's header says about the voxel block, before any voxel is decoded. */
export interface ParsedHeader {
  readonly format: 'NIfTI-1' | 'NIfTI-2' | 'MGH';
  /** Sizes of all axes the header declares: [nx, ny, nz, …] (trailing axes are time, frames, …). */
  readonly dims: readonly number[];
  readonly datatype: Datatype;
  /** Byte offset of the first voxel in the (decompressed) file. */
  readonly voxOffset: number;
  readonly littleEndian: boolean;
  /** Voxel → RAS mm. */
  readonly affine: Mat4;
  /** Linear intensity scaling to apply (value = raw · slope + inter), or null for none. */
  readonly scaling: { readonly slope: number; readonly inter: number } | null;
}
