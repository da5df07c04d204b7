/**
 * The text a report PDF shows, page by page, read back with pdf-lib (for tests: the figures in
 * the file must be the run's). It reads what `pdf.ts` writes, standard-font `Tj` strings, and
 * nothing more general.
 */
import { decodePDFRawStream, PDFArray, PDFDocument, PDFRawStream, type PDFStream } from 'pdf-lib';

/** WinAnsi bytes 0x80–0x9F that differ from Latin-1 and that the report can hold. */
const WIN_ANSI: Readonly<Record<number, string>> = { 0x95: '•', 0x96: '–', 0x97: '—', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”' };

export async function pdfPages(bytes: Uint8Array): Promise<{ text: string; images: number }[]> {
  const doc = await PDFDocument.load(bytes);
  return doc.getPages().map((page) => {
    const contents = page.node.Contents();
    const streams = contents instanceof PDFArray ? contents.asArray().map((ref) => doc.context.lookup(ref) as PDFStream) : contents ? [contents] : [];
    const lines: string[] = [];
    let images = 0;
    for (const stream of streams) {
      const data = stream instanceof PDFRawStream ? decodePDFRawStream(stream).decode() : stream.getContents();
      const ops = Array.from(data, (b) => String.fromCharCode(b)).join('');
      for (const m of ops.matchAll(/<([0-9A-Fa-f]*)> Tj/g)) lines.push(decodeHex(m[1]));
      images += (ops.match(/ Do\b/g) ?? []).length;
    }
    return { text: lines.join('\n'), images };
  });
}

function decodeHex(hex: string): string {
  let out = '';
  for (let i = 0; i < hex.length; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    out += WIN_ANSI[b] ?? String.fromCharCode(b);
  }
  return out;
}
