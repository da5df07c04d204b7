import { describe, expect, it } from 'vitest';
import type { ModelManifest, Protocol } from './manifest';
import { modelForProtocol, protocolFor } from './protocol-choice';

const manifest = (id: string, architecture: ModelManifest['architecture'], protocol?: Protocol, status: ModelManifest['status'] = 'trained') =>
  ({ id, architecture, protocol, status }) as ModelManifest;
const swin = manifest('swinunetr', 'SwinUNETR', 'msd');
const unetr = manifest('unetr', 'UNETR', 'msd');
const swinFs = manifest('swinunetr-fs', 'SwinUNETR', 'freesurfer');
const test = manifest('unetr-tiny-test', 'UNETR', undefined, 'untrained-test');

describe('protocol and model choice', () => {
  it('auto: FreeSurfer for full heads when installed, MSD for crops and sub-labels, MSD when FreeSurfer is not installed', () => {
    expect(protocolFor({ choice: 'auto', path: 'full-head', sublabels: false }, ['msd', 'freesurfer'])).toBe('freesurfer');
    expect(protocolFor({ choice: 'auto', path: 'full-head', sublabels: false }, ['msd'])).toBe('msd');
    expect(protocolFor({ choice: 'auto', path: 'crop', sublabels: false }, ['msd', 'freesurfer'])).toBe('msd');
    expect(protocolFor({ choice: 'auto', path: 'full-head', sublabels: true }, ['msd', 'freesurfer'])).toBe('msd');
    expect(protocolFor({ choice: 'msd', path: 'full-head', sublabels: false }, ['msd', 'freesurfer'])).toBe('msd');
    expect(() => protocolFor({ choice: 'freesurfer', path: 'full-head', sublabels: true }, ['freesurfer'])).toThrow(/sub-labels exist only in the MSD protocol/);
  });

  it('picks the sibling of the selected architecture, keeps a model that already fits, and says what is missing', () => {
    const all = [swin, unetr, swinFs, test];
    expect(modelForProtocol(all, swin, { choice: 'auto', path: 'full-head', sublabels: false }).id).toBe('swinunetr-fs');
    expect(modelForProtocol(all, swin, { choice: 'auto', path: 'crop', sublabels: false }).id).toBe('swinunetr');
    expect(modelForProtocol(all, swinFs, { choice: 'auto', path: 'full-head', sublabels: true }).id).toBe('swinunetr');
    // No UNETR of FreeSurfer's protocol: any FreeSurfer model.
    expect(modelForProtocol(all, unetr, { choice: 'freesurfer', path: 'full-head', sublabels: false }).id).toBe('swinunetr-fs');
    // Without a FreeSurfer model, full heads stay with MSD; asking for it explicitly is an error that names what is installed.
    expect(modelForProtocol([swin, unetr], swin, { choice: 'auto', path: 'full-head', sublabels: false }).id).toBe('swinunetr');
    expect(() => modelForProtocol([swin, unetr], swin, { choice: 'freesurfer', path: 'full-head', sublabels: false })).toThrow(/no trained model for the FreeSurfer .* is installed \(installed: swinunetr msd, unetr msd\)$/);
    // A model of unknown protocol (a test or user model) is used as it is unless a protocol is asked for.
    expect(modelForProtocol(all, test, { choice: 'auto', path: 'full-head', sublabels: false }).id).toBe('unetr-tiny-test');
    expect(modelForProtocol(all, test, { choice: 'msd', path: 'full-head', sublabels: false }).id).toBe('unetr');
  });
});
