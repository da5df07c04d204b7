/** What every interface that shows a SAM mask says about it (bench/RESULTS.md has the measured Dice). */
export const SAM_CAVEAT =
  "Segment Anything's image encoder was trained on photographs, not MRI, and the default decoder on synthetic heads only (box Dice 0.78 on two real scans): its masks follow edges, not anatomy. " +
  'Check every mask before you use it; a 3-D box loosely drawn around a structure over-segments on slices where the structure is small.';

/**
 * Mean Dice of the prompt tool's 3-D box over the twelve aseg structures of the two FreeSurfer-labelled
 * scans, by the views it was dragged on (`npm run bench -- sam-box3d [--views 3]`; bench/RESULTS.md,
 * "The prompt tool's 3-D box" and "… from three views").
 */
const BOX3D_DICE = { 2: '0.72', 3: '0.78' } as const;

/** What the prompt tool says with every propagated mask (bench/RESULTS.md, "The prompt tool's propagation"). */
export const SAM_PROPAGATION_CAVEAT =
  "Propagation prompts each slice with the previous slice's mask and often drifts off the structure, stops short or runs on past it: over twelve structures of two FreeSurfer-labelled scans its masks scored Dice 0.44. " +
  `Check every slice before accepting; for these twelve structures the 3-D box mode scored ${BOX3D_DICE[3]} from three drags.`;

/** What the prompt tool says with every 3-D box's mask, made from drags on `views` views. */
export function samBox3dCaveat(views: 2 | 3): string {
  const other = views === 3 ? `two drags: ${BOX3D_DICE[2]}` : `three drags: ${BOX3D_DICE[3]}`;
  return (
    `A 3-D box from ${views === 3 ? 'three' : 'two'} drags scored Dice ${BOX3D_DICE[views]} over twelve structures of two FreeSurfer-labelled scans (${other}; propagation: 0.44; \`seahorse prompt\` with each structure's exact 3-D box: 0.80). ` +
    'The mask stays inside the box: where the structure runs past it, drag again wider. Check every slice before accepting.'
  );
}
