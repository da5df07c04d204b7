import { batchTable, useBatch } from '../batch';
import type { Studio } from '../studio';

const mm3 = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: 0 }) : '—');

/** Batch mode over the viewer: one row per scan, progress, CSV export (the CLI's group table). */
export function BatchPanel({ studio }: { studio: Studio }) {
  const state = useBatch();
  if (state.entries.length === 0) return null;
  const table = batchTable(state);
  const done = state.outcomes.filter((o) => o !== null).length;
  const failed = state.outcomes.filter((o) => o?.status === 'failed').length;
  return (
    <section className="batch" aria-label="Batch" data-testid="batch-panel">
      <header className="batch-head">
        <h2>
          Batch: {state.entries.length} scans{state.models.length > 0 && `, ${state.models.length === 1 ? 'model' : 'models'} ${state.models.map((m) => m.id).join(', ')}`}
        </h2>
        <p data-testid="batch-progress">
          {done} of {state.entries.length} done{failed ? `, ${failed} failed` : ''}
          {state.running && state.current !== null && ` — ${state.entries[state.current].source}: ${state.progress?.label ?? ''}`}
        </p>
        {state.running && <progress max={state.entries.length} value={done + (state.progress?.fraction ?? 0)} />}
        <div className="batch-actions">
          {state.running ? (
            <button type="button" onClick={() => studio.batch.stop()}>
              Stop
            </button>
          ) : (
            <button type="button" onClick={() => studio.batch.close()}>
              Close
            </button>
          )}
          <button type="button" data-testid="batch-export" disabled={done === 0} onClick={() => studio.exportBatchCsv()}>
            Export CSV
          </button>
        </div>
        {state.models
          .filter((m) => m.status !== 'trained')
          .map((m) => (
            <p key={m.id} className="batch-warning">
              Model {m.id} is {m.status === 'untrained-test' ? 'an untrained test model: these masks are not segmentations' : 'not one Seahorse trained: its accuracy is unknown'}.
            </p>
          ))}
        {state.notice && <p className="batch-warning">{state.notice}</p>}
        {table.notes.map((n) => (
          <p key={n} className="batch-note">
            {n}
          </p>
        ))}
      </header>
      <div className="batch-scroll">
        <table className="volumes" data-testid="batch-table">
          <thead>
            <tr>
              <th>Participant</th>
              <th>Session</th>
              <th>Status</th>
              <th className="num">Left mm³</th>
              <th className="num">Right mm³</th>
              <th className="num">Total mm³</th>
              <th className="num">ICV mL</th>
              <th>QC flags</th>
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r, i) => (
              <tr key={state.entries[i].source} data-status={state.current === i ? 'running' : String(r.status)}>
                <td title={String(r.source)}>{String(r.participant_id)}</td>
                <td>{r.session_id ? String(r.session_id) : ''}</td>
                <td>{state.current === i ? 'running' : r.status === 'missing' ? 'queued' : String(r.status)}</td>
                <td className="num">{mm3(r.left_hippocampus_mm3)}</td>
                <td className="num">{mm3(r.right_hippocampus_mm3)}</td>
                <td className="num">{mm3(r.total_hippocampus_mm3)}</td>
                <td className="num">{typeof r.icv_mm3 === 'number' ? (r.icv_mm3 / 1000).toFixed(0) : '—'}</td>
                <td className="batch-flags" title={r.error ? String(r.error) : undefined}>
                  {r.error ? `failed: ${String(r.error)}` : r.qc_flags && r.status !== 'missing' ? String(r.qc_flags).replace(/;/g, ', ') : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
