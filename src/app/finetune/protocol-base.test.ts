import { describe, expect, it } from 'vitest';
import { listInstalledModels } from '../../infer/registry-node';
import type { PairCheck } from '../../workers/training-protocol';
import { protocolBase } from './protocol-base';

const models = listInstalledModels().map((m) => m.manifest);
const model = (id: string) => models.find((m) => m.id === id)!;

const pair = (name: string, path: 'crop' | 'full-head', space: 'classes' | 'whole'): PairCheck => ({
  name,
  ok: true,
  dims: [256, 256, 256],
  labelCounts: {},
  path,
  samples: path === 'full-head' ? [`${name} (left)`, `${name} (right)`] : [name],
  space,
  notes: [],
});
const heads = ['a', 'b', 'c'].map((n) => pair(n, 'full-head', 'whole'));
const crops = ['a', 'b'].map((n) => pair(n, 'crop', 'classes'));

describe('protocolBase: the base the training pairs call for', () => {
  it('full heads with FreeSurfer labels: the FreeSurfer-protocol model of the same network', () => {
    expect(protocolBase(models, model('swinunetr'), 'freesurfer', heads)?.model.id).toBe('swinunetr-fs');
    expect(protocolBase(models, model('unetr'), 'freesurfer', heads)?.model.id).toBe('unetr-fs');
    // Labels of no known protocol: the model segmentation uses on full heads.
    expect(protocolBase(models, model('swinunetr'), 'lpba40', heads)?.model.id).toBe('swinunetr-fs');
  });

  it('nothing to say when the base already is that model', () => {
    expect(protocolBase(models, model('swinunetr-fs'), 'freesurfer', heads)).toBeNull();
    expect(protocolBase(models, model('swinunetr'), 'msd', crops)).toBeNull();
    expect(protocolBase(models, model('swinunetr'), 'msd', heads)).toBeNull();
  });

  it('MSD labels on the FreeSurfer-protocol base: the MSD-protocol model', () => {
    expect(protocolBase(models, model('swinunetr-fs'), 'msd', crops)?.model.id).toBe('swinunetr');
    // The hint names what the pairs are.
    expect(protocolBase(models, model('swinunetr-fs'), 'msd', crops)?.path).toBe('crop');
    expect(protocolBase(models, model('swinunetr'), 'freesurfer', heads)?.path).toBe('full-head');
  });

  it('a model of no protocol, no checked pair, mixed paths or a broken map: nothing', () => {
    expect(protocolBase(models, model('unetr-tiny-test'), 'freesurfer', heads)).toBeNull();
    expect(protocolBase(models, model('swinunetr'), 'freesurfer', [])).toBeNull();
    expect(protocolBase(models, model('swinunetr'), 'freesurfer', [{ name: 'x', ok: false, message: 'unreadable' }])).toBeNull();
    expect(protocolBase(models, model('swinunetr'), 'freesurfer', [heads[0], crops[0]])).toBeNull();
    expect(protocolBase(models, model('swinunetr'), '17:nowhere', heads)).toBeNull();
  });
});
