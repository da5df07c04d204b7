/** What every interface that shows a SAM mask says about it (bench/RESULTS.md has the measured Dice). */
export const SAM_CAVEAT =
  "Segment Anything's image encoder was trained on photographs, not MRI, and the default decoder on synthetic heads only (box Dice 0.78 on two real scans): its masks follow edges, not anatomy. " +
  'Check every mask before you use it; a 3-D box loosely drawn around a structure over-segments on slices where the structure is small.';
