/**
 * The local time source the estimator and the slewing clock read, in microseconds as a number.
 * Wall-clock time (`Date.now()`) steps when NTP or a user adjusts it, which would show up as a
 * fake offset change between two probes, so it is read once to anchor a monotonic counter.
 */

export interface LocalClock {
  /** Microseconds on an epoch-like scale, monotonic (never steps). Safe to call detached. */
  readonly now: () => number
}

export interface LocalClockOptions {
  /** Shift added to every reading, ms: lets tests and demos fake a badly set clock. */
  offsetMs?: number
  /** Replaces the platform source (µs); the offset still applies. */
  now?: () => number
}

export function createLocalClock(options: LocalClockOptions = {}): LocalClock {
  const shiftUs = (options.offsetMs ?? 0) * 1000
  if (!Number.isFinite(shiftUs)) throw new RangeError('createLocalClock: offsetMs must be a finite number')
  const source = options.now ?? platformSource()
  return Object.freeze({ now: () => source() + shiftUs })
}

function platformSource(): () => number {
  const hrtime = typeof process !== 'undefined' ? process.hrtime : undefined
  if (hrtime !== undefined && typeof hrtime.bigint === 'function') {
    // Subtract in bigint first: the raw nanosecond counter can exceed 2^53 on long uptimes,
    // while the elapsed part since the anchor stays exact as a number for centuries.
    const baseNs = hrtime.bigint()
    const anchorUs = Date.now() * 1000
    return () => anchorUs + Number(hrtime.bigint() - baseNs) / 1000
  }
  if (typeof performance !== 'undefined' && typeof performance.now === 'function') {
    // timeOrigin is fixed for the page's lifetime, so this never steps either.
    const origin = performance.timeOrigin
    return () => (origin + performance.now()) * 1000
  }
  throw new Error('createLocalClock: no monotonic clock (process.hrtime or performance) is available; pass `now`')
}
