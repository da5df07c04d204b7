import type { ScanPathChoice } from '../../workers/protocol';
import { useStudio } from '../store';
import type { Studio } from '../studio';

/** Full head or crop (the field of view decides unless forced), and head/body sub-labels. */
export function ScanPathControls({ studio }: { studio: Studio }) {
  const scanPath = useStudio((s) => s.scanPath);
  const sublabels = useStudio((s) => s.sublabels);
  return (
    <>
      <label className="field" title="Auto: a whole head or a hippocampus crop, told apart by the field of view">
        <span>Scan</span>
        <select aria-label="Scan type" value={scanPath} onChange={(e) => void studio.selectScanPath(e.target.value as ScanPathChoice)}>
          <option value="auto">Auto</option>
          <option value="full-head">Full head</option>
          <option value="crop">Crop</option>
        </select>
      </label>
      <label className="checkbox" title="Full head: the head and the body + tail of each hippocampus as separate labels">
        <input type="checkbox" checked={sublabels} onChange={(e) => void studio.setSublabels(e.target.checked)} />
        <span>Head/body</span>
      </label>
    </>
  );
}
