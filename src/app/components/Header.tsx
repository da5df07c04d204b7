import { useRef } from 'react';
import type { ModelManifest } from '../../infer/manifest';
import type { BackendPreference } from '../../workers/protocol';
import { useStudio } from '../store';
import type { Studio } from '../studio';
import { ScanPathControls } from './ScanPathControls';

/** Title, model and backend choice, the two ways to open a scan, and the model's caveat. */
export function Header({ studio, models }: { studio: Studio; models: readonly ModelManifest[] }) {
  const modelId = useStudio((s) => s.modelId);
  const backendPreference = useStudio((s) => s.backendPreference);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const model = models.find((m) => m.id === modelId);

  const picked = (input: HTMLInputElement) => {
    const files = Array.from(input.files ?? []);
    input.value = ''; // picking the same file again must fire `change` again
    if (files.length > 0) void studio.openFiles(files);
  };

  return (
    <>
      <header className="header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          <div>
            <h1>Seahorse</h1>
            <p className="tagline">Hippocampus segmentation, on this computer</p>
          </div>
        </div>

        <div className="controls">
          <label className="field">
            <span>Model</span>
            <select
              aria-label="Model"
              value={modelId}
              onChange={(e) => void studio.selectModel(e.target.value)}
              disabled={models.length === 0}
            >
              {models.length === 0 && <option value="">No models installed</option>}
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Compute</span>
            <select
              aria-label="Compute backend"
              value={backendPreference}
              onChange={(e) => void studio.selectBackend(e.target.value as BackendPreference)}
            >
              <option value="auto">GPU (WebGPU), else CPU</option>
              <option value="wasm">CPU only (wasm)</option>
              <option value="webgpu">WebGPU, even without a GPU</option>
            </select>
          </label>
          <ScanPathControls studio={studio} />
        </div>

        <div className="open-buttons">
          <button type="button" className="primary" onClick={() => fileInput.current?.click()}>
            Open scan…
          </button>
          <button type="button" onClick={() => folderInput.current?.click()}>
            Open DICOM folder…
          </button>
          <input
            ref={fileInput}
            type="file"
            hidden
            data-testid="file-input"
            accept=".nii,.nii.gz,.gz,.mgz,.mgh,.dcm"
            onChange={(e) => picked(e.currentTarget)}
          />
          <input
            ref={folderInput}
            type="file"
            hidden
            multiple
            data-testid="folder-input"
            // Non-standard attribute: React passes it through to the element.
            {...{ webkitdirectory: '' }}
            onChange={(e) => picked(e.currentTarget)}
          />
        </div>
      </header>
      {model?.status === 'untrained-test' && (
        <div className="caveat" data-testid="untrained-badge" role="status">
          untrained test model — output is not a segmentation
        </div>
      )}
      {model?.status === 'user' && (
        <div className="caveat" role="status">
          your own model — Seahorse does not know how it was trained or how accurate it is
        </div>
      )}
    </>
  );
}
