/**
 * Exponential backoff with jitter, as socket.io's defaults: 1 s, doubling, capped at 5 s, each
 * delay randomised by ±50 % so clients that lost the same server don't return in lockstep.
 */
export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
  factor: number
  /** 0…1: the delay is multiplied by a random factor in [1 − jitter, 1 + jitter]. */
  jitter: number
}

/** Delay before attempt `attempt` (0-based). `random` returns a uniform number in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt)
  const spread = base * options.jitter
  return Math.max(0, Math.round(base - spread + 2 * spread * random()))
}
