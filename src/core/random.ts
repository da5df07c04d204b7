/**
 * A deterministic uniform [0, 1) stream (mulberry32): the same seed gives the same numbers on
 * every backend, in workers and in Node, so "random" data and initialisations are reproducible.
 */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
