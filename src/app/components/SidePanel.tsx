import { useState } from 'react';
import type { ModelManifest } from '../../infer/manifest';
import { modelCaveat } from '../../infer/registry';
import type { BackendInfo } from '../../workers/protocol';
import { cssColour } from '../label-colormap';
import { sizeResponseNote } from '../../infer/size-response';
import { describedModel, interimCheckpoint, realAsegDice, validationDice } from '../model-facts';
import { useStudio } from '../store';
import type { Studio } from '../studio';
import { volumeRows } from '../../report/volume-rows';
import { waitLine } from '../wait-stages';
import { RegistrationCard } from './RegistrationCard';
import { SamPanel } from '../sam/SamPanel';
import type { SamTool } from '../sam/sam-tool';

/** Messages, the open scan, the run, and the results, top to bottom. */
export function SidePanel({ studio, models, samTool }: { studio: Studio; models: readonly ModelManifest[]; samTool: SamTool }) {
  return (
    <aside className="panel">
      <Messages />
      <ScanCard />
      <RunCard studio={studio} />
      <RegistrationCard studio={studio} />
      <ResultsCard studio={studio} models={models} />
      <SamPanel tool={samTool} />
      <ModelCard models={models} />
    </aside>
  );
}

function Messages() {
  const error = useStudio((s) => s.error);
  const notice = useStudio((s) => s.notice);
  return (
    <>
      {error && (
        <div className="message message-error" role="alert" data-testid="error">
          <span>{error}</span>
          <button type="button" className="link" aria-label="Dismiss" onClick={() => useStudio.setState({ error: null })}>
            ✕
          </button>
        </div>
      )}
      {notice && (
        <div className="message message-notice" role="status" data-testid="notice">
          <span>{notice}</span>
          <button type="button" className="link" aria-label="Dismiss" onClick={() => useStudio.setState({ notice: null })}>
            ✕
          </button>
        </div>
      )}
    </>
  );
}

function ScanCard() {
  const scan = useStudio((s) => s.scan);
  if (!scan) return null;
  const [nx, ny, nz] = scan.dims;
  return (
    <section className="card" aria-label="Scan">
      <h2>Scan</h2>
      <p className="scan-name" data-testid="scan-name" title={scan.name}>
        {scan.name}
      </p>
      <dl className="facts">
        <dt>Voxels</dt>
        <dd data-testid="scan-dims">
          {nx} × {ny} × {nz}
        </dd>
        <dt>Voxel size</dt>
        <dd>{scan.spacing.map((s) => s.toFixed(2)).join(' × ')} mm</dd>
        <dt>Field of view</dt>
        <dd data-testid="scan-kind">
          {scan.classification.extentMm.map((e) => e.toFixed(0)).join(' × ')} mm: {scanKindName[scan.classification.kind]}
        </dd>
        <dt>Intensity</dt>
        <dd>
          {formatNumber(scan.range[0])} to {formatNumber(scan.range[1])}
        </dd>
      </dl>
    </section>
  );
}

const scanKindName = { 'full-head': 'whole head', crop: 'hippocampus crop', partial: 'part of the head' } as const;

function RunCard({ studio }: { studio: Studio }) {
  const phase = useStudio((s) => s.phase);
  const progress = useStudio((s) => s.progress);
  const backend = useStudio((s) => s.backend);
  const scan = useStudio((s) => s.scan);
  const busy = phase === 'running' || phase === 'loading-model';
  if (!scan) return null;
  return (
    <section className="card" aria-label="Segmentation">
      <h2>Segmentation</h2>
      <div className="run-buttons">
        <button type="button" className="primary" disabled={busy || phase === 'opening'} onClick={() => void studio.segment()}>
          {phase === 'done' ? 'Segment again' : 'Segment'}
        </button>
        {busy && (
          <button type="button" onClick={() => studio.cancel()}>
            Cancel
          </button>
        )}
      </div>
      {progress && (
        <div className="progress" data-testid="progress">
          <div
            className="progress-bar"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(progress.fraction * 100)}
          >
            <div className="progress-fill" style={{ width: `${progress.fraction * 100}%` }} />
          </div>
          <span className="progress-label">{progress.label}</span>
        </div>
      )}
      {backend && <BackendLine backend={backend} />}
    </section>
  );
}

function BackendLine({ backend }: { backend: BackendInfo }) {
  return (
    <div className="backend">
      <span className={`badge ${backend.name === 'webgpu' ? 'badge-gpu' : 'badge-cpu'}`} data-testid="backend-name">
        {backend.name}
      </span>
      <span className="backend-reason" data-testid="backend-reason">
        {backend.reason}
      </span>
      {backend.adapter && (
        <span className="backend-limits">
          largest GPU buffer {Math.round(backend.adapter.maxStorageBufferBindingSize / 2 ** 20)} MiB
        </span>
      )}
    </div>
  );
}

function ResultsCard({ studio, models }: { studio: Studio; models: readonly ModelManifest[] }) {
  const segmentation = useStudio((s) => s.segmentation);
  const opacity = useStudio((s) => s.overlayOpacity);
  const selectedId = useStudio((s) => s.modelId);
  if (!segmentation) return null;
  const model = models.find((m) => m.id === segmentation.modelId);
  const caveat = model ? modelCaveat(model) : null;
  const rows = volumeRows(segmentation);
  const withIcv = rows.some((r) => r.icvPercent !== undefined);
  const totalMs = segmentation.timingsMs.total;
  return (
    <section className="card" aria-label="Results">
      <h2>Volumes</h2>
      {model && (
        // Protocol: Auto can run another model than the one selected in the header (a full head
        // gets the FreeSurfer-protocol model): say which one made these masks.
        <p className="timing" data-testid="result-model">
          By {model.name}
          {model.id !== selectedId ? ', which the Protocol setting chose for this scan' : ''}.
        </p>
      )}
      {caveat && (
        <p className="untrained-note" role="note" data-testid="model-caveat">
          {caveat}
        </p>
      )}
      {segmentation.path === 'crop' && segmentation.warnings.length > 0 && (
        // A full head's warnings sit with its registration; a crop has only its mask to go by.
        <ul className="warnings" data-testid="warnings">
          {segmentation.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <table className="volumes" data-testid="volumes-table">
        <thead>
          <tr>
            <th>Label</th>
            <th className="num">Voxels</th>
            <th className="num">mm³</th>
            {withIcv && <th className="num">% of ICV</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              <td>
                {row.rgb && <span className="swatch" style={{ background: cssColour(row.rgb) }} />}
                {row.name}
              </td>
              <td className="num">{row.voxels.toLocaleString('en')}</td>
              <td className="num">{row.mm3.toLocaleString('en', { maximumFractionDigits: 0 })}</td>
              {withIcv && <td className="num">{row.icvPercent?.toFixed(3) ?? '—'}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <label className="slider">
        <span>Mask opacity</span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={opacity}
          aria-label="Mask opacity"
          onChange={(e) => studio.setOverlayOpacity(Number(e.target.value))}
        />
      </label>
      <div className="result-buttons">
        <button type="button" className="primary" data-testid="export" onClick={() => studio.exportMask()}>
          Export mask (NIfTI)
        </button>
        <ReportButton studio={studio} />
      </div>
      {segmentation.wait && (
        // The user's whole wait, by stage (issue 13); the pipeline's own time below it.
        <p className="timing" data-testid="wait-line">
          {waitLine(segmentation.wait.breakdown, segmentation.wait.start)}
        </p>
      )}
      {totalMs !== undefined && <p className="timing">Computed in {(totalMs / 1000).toFixed(1)} s on this machine.</p>}
    </section>
  );
}

/** One click: the PDF report of the result on screen (busy while the pictures are drawn). */
function ReportButton({ studio }: { studio: Studio }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      data-testid="report"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void studio.exportReport().finally(() => setBusy(false));
      }}
    >
      {busy ? 'Making report…' : 'Report (PDF)'}
    </button>
  );
}

/** What the model on screen is (the one that made the masks, else the selected one): enough to judge whether its output can be trusted. */
function ModelCard({ models }: { models: readonly ModelManifest[] }) {
  const modelId = useStudio((s) => s.modelId);
  const resultModelId = useStudio((s) => s.segmentation?.modelId);
  const { model, chosenByProtocol } = describedModel(models, modelId, resultModelId);
  if (!model) {
    return (
      <section className="card" aria-label="Model">
        <h2>Model</h2>
        <p className="muted">No model is installed (models/*.json).</p>
      </section>
    );
  }
  const status = { trained: 'trained by Seahorse', 'untrained-test': 'untrained test fixture', user: 'your own model' }[model.status];
  const dice = validationDice(model);
  const real = realAsegDice(model);
  const sizeNote = sizeResponseNote(model);
  const interim = interimCheckpoint(model);
  const selected = models.find((m) => m.id === modelId);
  return (
    <section className="card" aria-label="Model">
      <h2>Model</h2>
      <p className="scan-name" title={model.name}>
        {model.name}
      </p>
      {chosenByProtocol && (
        <p className="muted small" data-testid="model-chosen">
          It made the masks on screen: the Protocol setting chose it for this scan{selected ? ` (the Model menu holds ${selected.name})` : ''}.
        </p>
      )}
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          {status}
          {interim && (
            <span className="muted" data-testid="interim-checkpoint">
              {' '}
              — interim checkpoint (epoch {interim.selectedEpoch} of {interim.epochs}; training continues)
            </span>
          )}
        </dd>
        <dt>Network</dt>
        <dd>{model.architecture}</dd>
        <dt>Input</dt>
        <dd>
          {model.inputSize.join(' × ')} at {model.spacingMm.join(' × ')} mm
        </dd>
        <dt>Labels</dt>
        <dd>
          {model.labels
            .filter((l) => l.value !== 0)
            .map((l) => (
              <span key={l.value} className="label-chip">
                <span className="swatch" style={{ background: cssColour(l.rgb) }} />
                {l.name}
              </span>
            ))}
        </dd>
        {dice && (
          <>
            <dt>Dice</dt>
            <dd data-testid="model-dice">
              {dice.scores.map((s) => (
                <span key={s.name} className="label-chip">
                  {s.dice.toFixed(2)} {s.name}
                </span>
              ))}
              <span className="muted small">
                mean over {dice.cases ?? 'the'} validation scans
              </span>
            </dd>
          </>
        )}
        {real && (
          <>
            <dt>Dice</dt>
            <dd data-testid="model-real-dice">
              <span className="label-chip">{real.dice.toFixed(2)} whole hippocampus</span>
              <span className="muted small">
                against FreeSurfer's labels: mean over {real.sides} hippocampi in {real.scans} real scans of {real.subjects} people, never used in training
              </span>
            </dd>
          </>
        )}
        {sizeNote && (
          <>
            <dt>Volumes</dt>
            <dd data-testid="model-size-response">{sizeNote}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-2)
    ? value.toExponential(2)
    : value.toLocaleString('en', { maximumFractionDigits: 2 });
}
