import { describe, expect, it } from 'vitest';
import { guessRole, pairFiles, pairKey, validationKeys, type FileRole, type NamedFile } from './pairing';

const f = (name: string, path?: string): NamedFile => ({ name, path });

describe('label files are recognised by name and folder', () => {
  it.each([
    ['hippocampus_001_seg.nii.gz', undefined, 'label'],
    ['sub-01_desc-hippo_dseg.nii.gz', undefined, 'label'],
    ['case-label.nii', undefined, 'label'],
    ['aseg.mgz', undefined, 'label'],
    ['mask.nii.gz', undefined, 'label'],
    ['hippocampus_001.nii.gz', 'labelsTr/hippocampus_001.nii.gz', 'label'],
    ['hippocampus_001.nii.gz', 'imagesTr/hippocampus_001.nii.gz', 'image'],
    ['sub-01_T1w.nii.gz', undefined, 'image'],
    // "segment" and "labelled" are not the marker words.
    ['segmented_brain.nii.gz', undefined, 'image'],
    ['unlabelled.nii', undefined, 'image'],
  ] as const)('%s (%s) → %s', (name, path, role) => {
    expect(guessRole(f(name, path))).toBe(role);
  });
});

describe('pairing', () => {
  it('pairs MSD folders, name suffixes and per-case folders', () => {
    const files = [
      f('hippocampus_001.nii.gz', 'imagesTr/hippocampus_001.nii.gz'),
      f('hippocampus_001.nii.gz', 'labelsTr/hippocampus_001.nii.gz'),
      f('case7_T1w.nii.gz'),
      f('case7_seg.nii.gz'),
      f('T1.mgz', 'sub-02/T1.mgz'),
      f('aseg.mgz', 'sub-02/aseg.mgz'),
    ];
    const { pairs, unpaired } = pairFiles(files);
    expect(unpaired).toEqual([]);
    expect(pairs.map((p) => [p.key, p.image.name, p.label.name])).toEqual([
      ['case7', 'case7_T1w.nii.gz', 'case7_seg.nii.gz'],
      ['hippocampus_001', 'hippocampus_001.nii.gz', 'hippocampus_001.nii.gz'],
      ['sub-02', 'T1.mgz', 'aseg.mgz'],
    ]);
    expect(pairs[1].label.path).toBe('labelsTr/hippocampus_001.nii.gz');
  });

  it('says why a file is unpaired, and a role chosen by hand wins', () => {
    const scan = f('a.nii.gz');
    const labelsWithoutMarker = f('a_manualtracing.nii.gz');
    const lonely = f('b_seg.nii.gz');
    const first = pairFiles([scan, labelsWithoutMarker, lonely]);
    expect(first.pairs).toEqual([]);
    expect(first.unpaired.map((u) => [u.file.name, u.reason])).toEqual([
      ['a.nii.gz', expect.stringMatching(/no label file/)],
      ['a_manualtracing.nii.gz', expect.stringMatching(/no label file/)],
      ['b_seg.nii.gz', expect.stringMatching(/no scan/)],
    ]);
    // Chosen explicitly: the pair key still has to match, so the user renames or picks roles.
    const roles = new Map<NamedFile, FileRole>([[labelsWithoutMarker, 'label']]);
    expect(pairKey(labelsWithoutMarker, 'label')).toBe('a_manualtracing');
    const dup = pairFiles([f('x.nii'), f('x.nii.gz'), f('x_seg.nii')], roles);
    expect(dup.pairs).toEqual([]);
    expect(dup.unpaired[0].reason).toMatch(/2 scans and 1 label files share the name “x”/);
  });

  it('an explicit role pairs a label file whose name has no marker', () => {
    const scan = f('case3.nii.gz', 'scans/case3.nii.gz');
    const label = f('case3.nii.gz', 'tracings/case3.nii.gz');
    expect(pairFiles([scan, label]).pairs).toEqual([]);
    const { pairs } = pairFiles([scan, label], new Map([[label, 'label' as const]]));
    expect(pairs).toEqual([{ key: 'case3', image: scan, label }]);
  });
});

describe('validation hold-out', () => {
  it('automatic: one in five, at least one, never with a single pair; explicit: as chosen', () => {
    expect([...validationKeys(['a'], 'auto')]).toEqual([]);
    expect([...validationKeys(['a', 'b'], 'auto')]).toEqual(['b']);
    expect([...validationKeys(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 'auto')]).toEqual(['i', 'j']);
    expect([...validationKeys(['a', 'b', 'c'], new Set(['a', 'z']))]).toEqual(['a']);
  });
});
