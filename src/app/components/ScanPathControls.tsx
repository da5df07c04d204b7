import { PROTOCOL_NAMES, type ProtocolChoice } from '../../infer/protocol-choice';
import type { ScanPathChoice } from '../../workers/protocol';
import { useStudio } from '../store';
import type { Studio } from '../studio';

/** Full head or crop (the field of view decides unless forced), the labelling protocol, and head/body sub-labels. */
export function ScanPathControls({ studio }: { studio: Studio }) {
  const scanPath = useStudio((s) => s.scanPath);
  const sublabels = useStudio((s) => s.sublabels);
  const protocol = useStudio((s) => s.protocol);
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
      <label className="field" title="Which outline of the hippocampus: FreeSurfer's aseg (what most volumetry compares with) or the manual MSD protocol (head and body + tail). Auto: FreeSurfer for full heads when its model is installed, MSD for crops and head/body.">
        <span>Protocol</span>
        <select aria-label="Labelling protocol" value={protocol} onChange={(e) => void studio.selectProtocol(e.target.value as ProtocolChoice)}>
          <option value="auto">Auto</option>
          <option value="freesurfer">{PROTOCOL_NAMES.freesurfer}</option>
          <option value="msd">{PROTOCOL_NAMES.msd}</option>
        </select>
      </label>
      <label className="checkbox" title="Full head: the head and the body + tail of each hippocampus as separate labels">
        <input type="checkbox" checked={sublabels} onChange={(e) => void studio.setSublabels(e.target.checked)} />
        <span>Head/body</span>
      </label>
    </>
  );
}
