/**
 * The framework's one seeded PRNG, for simulations, fuzzers and demo models that must replay the
 * same run from the same seed (Math.random cannot be seeded). It is mulberry32: 32 bits of state,
 * a handful of integer ops per draw, passes the usual statistical batteries well enough for noise
 * and test data — not for anything secret (use crypto.getRandomValues for that).
 */

/** A function that returns the next number in [0, 1) of a seeded sequence. */
export type SeededRandom = () => number

/** A PRNG seeded with `seed` (its low 32 bits): the same seed gives the same sequence, everywhere. */
export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
