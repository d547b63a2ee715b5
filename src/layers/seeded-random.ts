// A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
// every machine and Node version, so a run that injected faults or generated inputs can be
// replayed from its seed alone. Not for anything secret.

/** Returns a function giving numbers in [0, 1), determined by `seed` (any finite number). */
export function seededRandom(seed: number): () => number {
  let state = hashSeed(seed);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds a number (fractions and large values included) into 32 bits. */
function hashSeed(seed: number): number {
  let h = 0x811c9dc5;
  for (const part of [Math.trunc(seed) % 4294967296, Math.trunc(seed / 4294967296), Math.round((seed % 1) * 1e9)]) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h ^= h >>> 13;
  }
  return h >>> 0;
}
