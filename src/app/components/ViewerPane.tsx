import { useEffect, useRef, useState } from 'react';
import { SAMPLE_SCAN } from '../sample';
import { useStudio } from '../store';
import type { Studio } from '../studio';
import type { ScanViewer } from '../viewer';
import { BatchPanel } from './BatchPanel';

/** The NiiVue canvas, with a welcome card (and the sample scan) until a scan is open; the batch table over it in batch mode. */
export function ViewerPane({ viewer, studio }: { viewer: ScanViewer; studio: Studio }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  // A lost WebGL context cannot be reused: a new canvas (new key) gets a new NiiVue.
  const [canvasGeneration, setCanvasGeneration] = useState(0);
  const phase = useStudio((s) => s.phase);
  const scan = useStudio((s) => s.scan);

  useEffect(() => {
    viewer.onContextLost = () => setCanvasGeneration((g) => g + 1);
    return () => {
      viewer.onContextLost = undefined;
    };
  }, [viewer]);

  useEffect(() => {
    if (canvas.current) void viewer.attach(canvas.current);
  }, [viewer, canvasGeneration]);

  return (
    <section className="viewer" aria-label="Scan viewer">
      <canvas key={canvasGeneration} ref={canvas} data-testid="viewer-canvas" />
      {!scan && (
        <div className="welcome">
          {phase === 'opening' ? (
            <p className="welcome-title">Opening…</p>
          ) : (
            <>
              <p className="welcome-title">Drop a T1-weighted scan anywhere</p>
              <p>NIfTI (.nii, .nii.gz), MGZ, or a folder of DICOM files; a folder of scans (e.g. a BIDS dataset) for a batch.</p>
              <button type="button" className="primary sample-button" data-testid="try-sample" onClick={() => void studio.openSample()}>
                Try a sample scan
              </button>
              <p className="welcome-small">Sample: {SAMPLE_SCAN.description}.</p>
              <p className="welcome-small">
                The scan is read and segmented inside this page, on your GPU or CPU. Nothing is uploaded.
              </p>
            </>
          )}
        </div>
      )}
      <BatchPanel studio={studio} />
    </section>
  );
}
