import type { RegistrationSummary } from '../../workers/protocol';
import { cssColour } from '../label-colormap';
import { OUTLINE_LABELS } from '../outline-colours';
import { useStudio } from '../store';
import type { Studio } from '../studio';

/** One empty list: a selector returning a fresh [] each call makes zustand re-render forever. */
const noWarnings: readonly string[] = [];

/**
 * A full head's localisation: how well the scan matched the brain template, in words and
 * numbers, the warnings about the masks, and the template outline toggle (the outline is
 * what lets a person see that a registration went wrong).
 */

export function RegistrationCard({ studio }: { studio: Studio }) {
  const registration = useStudio((s) => s.registration);
  const warnings = useStudio((s) => s.segmentation?.warnings ?? noWarnings);
  const showOutline = useStudio((s) => s.showOutline);
  const hasMasks = useStudio((s) => s.segmentation !== null);
  if (!registration) return null;
  return (
    <section className="card" aria-label="Registration">
      <h2>Registration to the brain template</h2>
      <p className={`registration registration-${registration.quality}`} data-testid="registration-quality">
        {qualitySentence(registration, hasMasks)}
      </p>
      <dl className="facts">
        <dt>Similarity</dt>
        <dd data-testid="registration-similarity">
          {registration.ncc.toFixed(2)} overall, {registration.brainNcc.toFixed(2)} inside the brain
        </dd>
        <dt>Started from</dt>
        <dd data-testid="registration-start">
          {registration.startedFrom === 'localiser brain'
            ? "the brain the localiser found (the start from the field of view's centre matched worse)"
            : "the field of view's centre"}
        </dd>
        {registration.quality !== 'failed' && (
          <>
            <dt>Head pose</dt>
            <dd data-testid="registration-tilt">
              {registration.cropsTurnedDeg > 0
                ? `its crops were turned ${registration.cropsTurnedDeg.toFixed(0)}° to the pose the model was trained in`
                : 'within what the model was trained on'}
            </dd>
          </>
        )}
        <dt>Brain in view</dt>
        <dd>{(100 * registration.brainCoverage).toFixed(0)}%</dd>
        <dt>Intracranial volume</dt>
        <dd data-testid="icv">
          ≈ {(registration.icvMm3 / 1e6).toFixed(2)} L ({registration.icvFrom === 'localiser' ? "the localiser's coarse brain volume" : 'estimate from the registration'})
        </dd>
      </dl>
      {warnings.length > 0 && (
        <ul className="warnings" data-testid="warnings">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={showOutline} onChange={(e) => void studio.setShowOutline(e.target.checked)} />
        <span>Show the template outline</span>
      </label>
      <p className="muted small">
        {OUTLINE_LABELS.map((l) => (
          <span key={l.value} className="label-chip">
            <span className="swatch" style={{ background: cssColour(l.rgb) }} />
            {l.name}
          </span>
        ))}
      </p>
    </section>
  );
}

function qualitySentence(r: RegistrationSummary, hasMasks: boolean): string {
  switch (r.quality) {
    case 'good':
      return 'Good: the scan matches the brain template.';
    case 'poor':
      return 'Poor: the scan matches the brain template only weakly. Check that the outline follows the brain before trusting the masks.';
    case 'failed':
      // A localiser sure of both hippocampi places the crops without the registration (the warning below says so).
      return hasMasks
        ? 'Failed: the scan does not match the brain template. The localiser placed the hippocampi alone; the outline shows where the registration put the template, and the intracranial volume is a coarse estimate.'
        : 'Failed: the scan does not match the brain template, so no masks were made. The outline shows where the registration put the template.';
  }
}
