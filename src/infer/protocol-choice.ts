/**
 * Which labelling protocol, and so which model, segments a scan (issue 13, item 2): full
 * heads default to the FreeSurfer-protocol model (aseg 17/53: what volumetry users compare
 * with) when one is installed; crops and head/body sub-labels stay with the MSD-protocol
 * models (MSD crops are what those were trained on, and only they split head and body).
 * The CLI's `--protocol` and the studio's Protocol selector make the choice explicit. Pure:
 * the CLI passes the installed manifests, the studio its registry.
 */
import type { ScanPath } from '../core/fullhead';
import type { ModelManifest, Protocol } from './manifest';

export type ProtocolChoice = 'auto' | Protocol;

export const PROTOCOL_NAMES: Readonly<Record<Protocol, string>> = {
  freesurfer: 'FreeSurfer (aseg 17/53, whole hippocampus)',
  msd: 'MSD / manual (head and body + tail)',
};

export interface ProtocolRequest {
  readonly choice: ProtocolChoice;
  /** The path the scan takes (full head or crop). */
  readonly path: ScanPath;
  readonly sublabels: boolean;
}

/** The protocol a run uses, or why the request cannot be met. */
export function protocolFor(request: ProtocolRequest, available: readonly Protocol[]): Protocol {
  const { choice, path, sublabels } = request;
  if (choice === 'freesurfer' && sublabels) throw new Error('head/body sub-labels exist only in the MSD protocol; choose --protocol msd (or leave out --sublabels)');
  if (choice !== 'auto') return choice;
  if (path === 'crop' || sublabels) return 'msd';
  return available.includes('freesurfer') ? 'freesurfer' : 'msd';
}

/**
 * The model for a run: `selected` when it already follows the protocol the run needs (or when
 * its protocol is unknown and nothing was asked for), else the trained model of that protocol
 * with the same architecture, else any trained model of that protocol. Throws, saying what is
 * installed, when there is none.
 */
export function modelForProtocol(models: readonly ModelManifest[], selected: ModelManifest, request: ProtocolRequest): ModelManifest {
  const trained = models.filter((m) => m.status === 'trained' && m.protocol);
  const available = [...new Set(trained.map((m) => m.protocol!))];
  // A model without a protocol (a test model, the user's own) is used as it is unless a protocol is asked for.
  if (!selected.protocol && request.choice === 'auto') return selected;
  const protocol = protocolFor(request, available);
  if (selected.protocol === protocol) return selected;
  const candidates = trained.filter((m) => m.protocol === protocol);
  const pick = candidates.find((m) => m.architecture === selected.architecture) ?? candidates[0];
  if (!pick) {
    throw new Error(
      `no trained model for the ${PROTOCOL_NAMES[protocol]} protocol is installed (installed: ${trained.map((m) => `${m.id} ${m.protocol}`).join(', ') || 'none'})`,
    );
  }
  return pick;
}
