import { useEffect, useRef } from 'react';
import type { CompareSide } from '../../workers/training-protocol';
import { useFinetune } from './store';

/** Okabe–Ito orange (head) and sky blue (body + tail), as the studio's label colours. */
const LABEL_RGB: Readonly<Record<number, readonly [number, number, number]>> = { 1: [230, 159, 0], 2: [86, 180, 233] };
const MASK_ALPHA = 0.55;
const SCALE = 4;

/** Base and adapted masks side by side on the middle axial slice of a validation scan, with their Dice. */
export function ComparisonView() {
  const comparison = useFinetune((s) => s.comparison);
  if (!comparison) return null;
  return (
    <section className="card" aria-label="Base and adapted" data-testid="comparison">
      <h2>Base vs adapted</h2>
      <p className="muted small">
        {comparison.scan}, middle slice; Dice against its labels.
      </p>
      <div className="compare-grid">
        <Side title="Base" side={comparison.base} image={comparison.image} testId="compare-base" />
        <Side title="Adapted" side={comparison.adapted} image={comparison.image} testId="compare-adapted" />
      </div>
    </section>
  );
}

function Side({ title, side, image, testId }: { title: string; side: CompareSide; image: { dims: readonly number[]; data: Float32Array }; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (canvas.current) drawSlice(canvas.current, image, side.labels.data);
  }, [image, side]);
  return (
    <figure className="compare-side">
      <canvas ref={canvas} />
      <figcaption data-testid={testId} data-dice={side.meanDice}>
        {title}: mean Dice {Number.isNaN(side.meanDice) ? '–' : side.meanDice.toFixed(3)}
        <br />
        <span className="muted small">{side.dice.map((d) => `${d.name} ${Number.isNaN(d.dice) ? '–' : d.dice.toFixed(3)}`).join(' · ')}</span>
      </figcaption>
    </figure>
  );
}

/** The middle k slice (NIfTI i-fastest order), intensities windowed to the 1st–99th percentile, the mask blended over. */
function drawSlice(canvas: HTMLCanvasElement, image: { dims: readonly number[]; data: Float32Array }, labels: Uint8Array): void {
  const [ni, nj, nk] = image.dims;
  const k = Math.floor(nk / 2);
  const offset = ni * nj * k;
  const slice = image.data.subarray(offset, offset + ni * nj);
  const sorted = Float32Array.from(slice).sort();
  const lo = sorted[Math.floor(0.01 * (sorted.length - 1))];
  const hi = sorted[Math.floor(0.99 * (sorted.length - 1))];
  canvas.width = ni;
  canvas.height = nj;
  canvas.style.width = `${ni * SCALE}px`;
  canvas.style.height = `${nj * SCALE}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const pixels = ctx.createImageData(ni, nj);
  for (let j = 0; j < nj; j++) {
    for (let i = 0; i < ni; i++) {
      const v = slice[i + ni * j];
      const g = hi > lo ? Math.max(0, Math.min(255, ((v - lo) / (hi - lo)) * 255)) : 0;
      const rgb = LABEL_RGB[labels[offset + i + ni * j]];
      // Rows from the top: j increases upwards (anterior) in RAS scans.
      const p = 4 * (i + ni * (nj - 1 - j));
      pixels.data[p] = rgb ? (1 - MASK_ALPHA) * g + MASK_ALPHA * rgb[0] : g;
      pixels.data[p + 1] = rgb ? (1 - MASK_ALPHA) * g + MASK_ALPHA * rgb[1] : g;
      pixels.data[p + 2] = rgb ? (1 - MASK_ALPHA) * g + MASK_ALPHA * rgb[2] : g;
      pixels.data[p + 3] = 255;
    }
  }
  ctx.putImageData(pixels, 0, 0);
}
