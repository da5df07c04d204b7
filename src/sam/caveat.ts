/** What every interface that shows a SAM mask says about it (bench/RESULTS.md has the measured Dice). */
export const SAM_CAVEAT =
  "Segment Anything's image encoder was trained on photographs, not MRI, and the default decoder on synthetic heads only (box Dice 0.78 on two real scans): its masks follow edges, not anatomy. " +
  'Check every mask before you use it; a 3-D box loosely drawn around a structure over-segments on slices where the structure is small.';

/** What the prompt tool says with every propagated mask (bench/RESULTS.md, "The prompt tool's propagation"). */
export const SAM_PROPAGATION_CAVEAT =
  "Propagation prompts each slice with the previous slice's mask and often drifts off the structure, stops short or runs on past it: over twelve structures of two FreeSurfer-labelled scans its masks scored Dice 0.44. " +
  'Check every slice before accepting; for these twelve structures the 3-D box mode (two drags) scored 0.72.';

/** What the prompt tool says with every 3-D box's mask (bench/RESULTS.md, "The prompt tool's 3-D box"). */
export const SAM_BOX3D_CAVEAT =
  "A 3-D box from two drags scored Dice 0.72 over twelve structures of two FreeSurfer-labelled scans (propagation: 0.44; `seahorse prompt` with each structure's exact 3-D box: 0.80). " +
  'The mask stays inside the box: where the structure runs past it, drag again wider. Check every slice before accepting.';
