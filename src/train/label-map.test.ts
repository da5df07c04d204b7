import { describe, expect, it } from 'vitest';
import { identity4, type Volume } from '../core/volume';
import type { ModelManifest } from '../infer/manifest';
import { adaptedProtocol, applyLabelMap, withAdaptedProtocol, LABEL_MAP_PRESETS, LabelMapError, parseLabelMap, suggestLabelMap, targetClasses, targetGroups } from './label-map';

const vol = (values: number[], make: (n: number[]) => Volume['data'] = (v) => Int16Array.from(v)): Volume => ({ dims: [values.length, 1, 1], spacing: [1, 1, 1], affine: identity4(), data: make(values) });

describe('label maps', () => {
  it('parses presets and code:target pairs', () => {
    const fs = parseLabelMap('freesurfer');
    expect(fs.text).toBe(LABEL_MAP_PRESETS.freesurfer);
    expect(fs.space).toBe('whole');
    expect(fs.otherwise).toBe('bg');
    expect([...fs.codes]).toEqual([[17, 'whole'], [53, 'whole']]);
    const msd = parseLabelMap(' MSD ');
    expect(msd.space).toBe('classes');
    expect(msd.otherwise).toBeNull();
    // Numbers are the model's classes.
    expect([...parseLabelMap('5:0, 7:1 ,9:2').codes]).toEqual([[5, 'bg'], [7, 'head'], [9, 'body']]);
  });

  it('refuses malformed or meaningless maps with a reason', () => {
    expect(() => parseLabelMap('')).toThrow(/empty label map; give a preset \(msd, freesurfer/);
    expect(() => parseLabelMap('17-1')).toThrow(/"17-1" is not code:target/);
    expect(() => parseLabelMap('17:3')).toThrow(/target must be bg, head, body or whole/);
    expect(() => parseLabelMap('17:whole,17:bg')).toThrow(/maps code 17 twice/);
    expect(() => parseLabelMap('*:bg,*:whole')).toThrow(/two \* entries/);
    expect(() => parseLabelMap('1:head,2:whole')).toThrow(/mixes whole with head\/body/);
    expect(() => parseLabelMap('1:bg,*:bg')).toThrow(/marks no hippocampus/);
    expect(() => parseLabelMap('17:hippo')).toThrow(LabelMapError);
  });

  it('maps FreeSurfer codes above 255 and sends the rest to background', () => {
    const out = applyLabelMap(vol([0, 17, 53, 2, 1035, 17]), parseLabelMap('freesurfer'), 'sub-01');
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect([...out.data]).toEqual([0, 1, 1, 0, 0, 1]);
    expect(out.dims).toEqual([6, 1, 1]);
  });

  it('keeps MSD labels and remaps other codes to head/body', () => {
    expect([...applyLabelMap(vol([0, 1, 2, 2], (v) => Float32Array.from(v)), parseLabelMap('msd'), 'c').data]).toEqual([0, 1, 2, 2]);
    expect([...applyLabelMap(vol([0, 10, 20]), parseLabelMap('0:bg,10:body,20:head'), 'c').data]).toEqual([0, 2, 1]);
    expect([...applyLabelMap(vol([0, 3, 9]), parseLabelMap('binary'), 'c').data]).toEqual([0, 1, 1]);
  });

  it('refuses codes present and not mapped, naming them with their counts', () => {
    expect(() => applyLabelMap(vol([0, 17, 4, 4, 53, 9]), parseLabelMap('0:bg,17:whole,53:whole'), 'sub-02')).toThrow(
      /sub-02: label codes 4 \(2 voxels\), 9 \(1 voxels\) are not in the label map "0:bg,17:whole,53:whole"; map them, or add \*:bg/,
    );
    expect(() => applyLabelMap(vol([0, 1.5], (v) => Float32Array.from(v)), parseLabelMap('msd'), 'c')).toThrow(/c: the labels are not integers \(voxel 1 is 1.5\)/);
  });

  it('trains a whole-hippocampus target on the union of the head and body classes', () => {
    const whole = parseLabelMap('freesurfer');
    expect(targetClasses(whole)).toBe(2);
    expect(targetGroups(whole, 3)).toEqual([[0], [1, 2]]);
    const own = parseLabelMap('msd');
    expect(targetClasses(own)).toBe(3);
    expect(targetGroups(own, 3)).toBeNull();
    expect(() => targetGroups(own, 2)).toThrow(/has only 2 classes/);
  });

  it('suggests a preset only when the codes fit exactly one', () => {
    expect(suggestLabelMap([0, 1, 2])).toBe('msd');
    expect(suggestLabelMap([0])).toBeNull();
    expect(suggestLabelMap([0, 2, 4, 17, 41, 53, 1035])).toBe('freesurfer');
    expect(suggestLabelMap([0, 165, 166, 21])).toBe('lpba40');
    // AAL's 116 regions hold 17 and 53 beside its hippocampi 37 and 38: ambiguous, so none.
    expect(suggestLabelMap(Array.from({ length: 117 }, (_, c) => c))).toBeNull();
    // One side alone (a crop around the left hippocampus) is enough; codes of two presets are not.
    expect(suggestLabelMap([0, 17, 4])).toBe('freesurfer');
    expect(suggestLabelMap([0, 38])).toBe('aal');
    expect(suggestLabelMap([0, 17, 37])).toBeNull();
    expect(suggestLabelMap([0, 4, 5])).toBeNull();
  });

  it('gives an adapted model the protocol of the labels it was trained on', () => {
    // An MSD-protocol base adapted to aseg labels follows FreeSurfer's outline, and the reverse.
    expect(adaptedProtocol('msd', parseLabelMap('freesurfer').text)).toBe('freesurfer');
    expect(adaptedProtocol('freesurfer', parseLabelMap('msd').text)).toBe('msd');
    expect(adaptedProtocol('freesurfer', parseLabelMap('17:whole,53:whole,*:bg').text)).toBe('freesurfer');
    // Any other map is a protocol Seahorse has no norms for.
    for (const map of ['binary', 'aal', 'lpba40', '17:whole,53:whole']) expect(adaptedProtocol('freesurfer', parseLabelMap(map).text), map).toBeUndefined();
    // An adapter that recorded no map keeps the base's.
    expect(adaptedProtocol('freesurfer', undefined)).toBe('freesurfer');
    expect(adaptedProtocol(undefined, undefined)).toBeUndefined();
    // On a manifest: the protocol replaced, or removed (not left as the base's) for a map it knows no norms of.
    const base = { id: 'swinunetr', protocol: 'msd' } as unknown as ModelManifest;
    expect(withAdaptedProtocol(base, LABEL_MAP_PRESETS.freesurfer)).toEqual({ id: 'swinunetr', protocol: 'freesurfer' });
    expect(withAdaptedProtocol(base, LABEL_MAP_PRESETS.binary)).toEqual({ id: 'swinunetr' });
    expect(withAdaptedProtocol(base, undefined)).toEqual(base);
  });
});
