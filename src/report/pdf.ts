/**
 * The report as a PDF (pdf-lib: we lay the report out, the library writes the file). A4,
 * the standard Helvetica fonts (nothing embedded but the pictures, nothing fetched).
 */
import { PDFDocument, rgb, StandardFonts, type PDFFont, type PDFPage } from 'pdf-lib';
import { encodePng } from './png';
import { viewCaption, type Report } from './report';

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 42;
const INK = rgb(0.1, 0.1, 0.12);
const MUTED = rgb(0.38, 0.4, 0.45);
const WARN = rgb(0.62, 0.35, 0);
/** Characters WinAnsi (the standard fonts' encoding) lacks, in words it has. */
const REPLACEMENTS: Readonly<Record<string, string>> = { '≈': '~', '→': '->', '≥': '>=', '≤': '<=', '’': "'", '‘': "'", '“': '"', '”': '"', '…': '...', '³': '³' };

export async function reportPdf(report: Report): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(`${report.title}: ${report.scan[0]?.[1] ?? ''}`);
  doc.setProducer(report.subtitle);
  doc.setCreator('Seahorse');
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const writer = new Writer(doc, regular, bold, report.disclaimer);

  writer.text(report.title, { font: bold, size: 17 });
  writer.text(report.subtitle, { size: 9, colour: MUTED });
  writer.gap(4);
  writer.text(report.disclaimer, { font: bold, size: 9, colour: WARN });
  writer.gap(8);
  writer.heading('Scan');
  writer.facts(report.scan);
  writer.heading('Model');
  writer.facts(report.model);
  writer.heading('Quality control');
  writer.text(report.qc.status, { font: bold, size: 10, colour: report.qc.warnings.length > 0 ? WARN : INK });
  for (const line of report.qc.lines) writer.text(line, { size: 9 });
  for (const w of report.qc.warnings) writer.text(`Warning: ${w}`, { size: 9, colour: WARN });
  if (report.qc.warnings.length === 0) writer.text('Warnings: none.', { size: 9 });
  writer.heading('Volumes');
  writer.table(report.volumes.header, report.volumes.rows);

  for (const figure of report.figures) {
    const title = figure.structure[0].toUpperCase() + figure.structure.slice(1);
    if (!figure.views) {
      writer.heading(title);
      writer.text('The mask holds no voxel of this structure: nothing to show.', { size: 9, colour: WARN });
      continue;
    }
    const gap = 8;
    const width = (A4[0] - 2 * MARGIN - 2 * gap) / 3;
    const images = await Promise.all(figure.views.map((v) => doc.embedPng(encodePng(v.image))));
    const heights = figure.views.map((v) => (width * v.image.height) / v.image.width);
    const rowHeight = Math.max(...heights) + 14;
    writer.need(rowHeight + 40); // the heading stays with its pictures
    writer.heading(title);
    writer.need(rowHeight);
    const top = writer.y;
    figure.views.forEach((view, i) => {
      const x = MARGIN + i * (width + gap);
      writer.page.drawImage(images[i], { x, y: top - heights[i], width, height: heights[i] });
      writer.page.drawText(clean(viewCaption(view), regular), { x, y: top - Math.max(...heights) - 10, size: 8, font: regular, color: MUTED });
    });
    writer.y = top - rowHeight - 4;
  }
  writer.gap(4);
  writer.text(report.orientationNote, { size: 8, colour: MUTED });
  writer.footers();
  return doc.save();
}

/** Text the font can encode: known look-alikes, anything else as '?'. */
function clean(text: string, font: PDFFont): string {
  const charset = new Set(font.getCharacterSet());
  return Array.from(text, (c) => (charset.has(c.codePointAt(0)!) ? c : (REPLACEMENTS[c] ?? '?'))).join('');
}

/** A top-down writer over pages: wraps text, breaks pages, keeps the disclaimer on every page. */
class Writer {
  page: PDFPage;
  y: number;
  private readonly pages: PDFPage[] = [];

  constructor(
    private readonly doc: PDFDocument,
    private readonly regular: PDFFont,
    private readonly bold: PDFFont,
    private readonly disclaimer: string,
  ) {
    this.page = this.newPage();
    this.y = A4[1] - MARGIN;
  }

  private newPage(): PDFPage {
    const page = this.doc.addPage(A4);
    this.pages.push(page);
    return page;
  }

  /** Starts a new page unless `height` points fit above the footer. */
  need(height: number): void {
    if (this.y - height >= MARGIN + 24) return;
    this.page = this.newPage();
    this.y = A4[1] - MARGIN;
  }

  gap(points: number): void {
    this.y -= points;
  }

  text(text: string, { font = this.regular, size = 10, colour = INK, x = MARGIN, width = A4[0] - 2 * MARGIN } = {}): void {
    for (const line of wrap(clean(text, font), font, size, width)) {
      this.need(size * 1.35);
      this.y -= size * 1.35;
      this.page.drawText(line, { x, y: this.y + size * 0.3, size, font, color: colour });
    }
  }

  heading(text: string): void {
    this.need(40);
    this.gap(8);
    this.text(text, { font: this.bold, size: 12 });
    this.gap(2);
  }

  facts(rows: readonly (readonly [string, string])[]): void {
    const keyWidth = 95;
    for (const [key, value] of rows) {
      const lines = wrap(clean(value, this.regular), this.regular, 9, A4[0] - 2 * MARGIN - keyWidth);
      this.need(lines.length * 12.2);
      this.page.drawText(clean(key, this.regular), { x: MARGIN, y: this.y - 9.5, size: 9, font: this.regular, color: MUTED });
      for (const line of lines) {
        this.y -= 12.2;
        this.page.drawText(line, { x: MARGIN + keyWidth, y: this.y + 2.7, size: 9, font: this.regular, color: INK });
      }
    }
  }

  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    const first = 200;
    const other = (A4[0] - 2 * MARGIN - first) / Math.max(1, header.length - 1);
    const drawRow = (cells: readonly string[], font: PDFFont) => {
      this.need(14);
      this.y -= 14;
      cells.forEach((cell, i) => {
        const text = clean(cell, font);
        const right = MARGIN + first + i * other;
        const x = i === 0 ? MARGIN : right - font.widthOfTextAtSize(text, 9);
        this.page.drawText(text, { x, y: this.y + 3.5, size: 9, font, color: INK });
      });
    };
    drawRow(header, this.bold);
    for (const row of rows) drawRow(row, this.regular);
  }

  /** Page numbers and the disclaimer's first sentence at the foot of every page. */
  footers(): void {
    const short = this.disclaimer.split('.')[0] + '.';
    this.pages.forEach((page, i) => {
      page.drawText(clean(`${short}   Page ${i + 1} of ${this.pages.length}`, this.regular), { x: MARGIN, y: MARGIN - 16, size: 8, font: this.regular, color: MUTED });
    });
  }
}

function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && font.widthOfTextAtSize(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines : [''];
}
