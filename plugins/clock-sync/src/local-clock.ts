/**
 * The local time source the estimator and the slewing clock read, in microseconds as a number.
 * Wall-clock time (`Date.now()`) steps when NTP or a user adjusts it, which would show up as a
 * fake offset change between two probes, so the source is the kernel's one monotonic clock,
 * `monotonicMicros()` (performance.timeOrigin + performance.now(): epoch-based, never steps, the
 * same clock the transport stamps each message's arrival with).
 */
import { monotonicMicros } from '@echostream/kernel'

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
  const source = options.now ?? monotonicMicros
  return Object.freeze({ now: () => source() + shiftUs })
}

/**
 * The local clock's reading when a message arrived: `now` (read in the handler) minus the time
 * since the transport stamped the arrival with `monotonicMicros()`. Works whatever the local
 * source (a `now` option, an offset), and never later than `now`.
 */
export function atArrival(now: number, arrivedAt: number): number {
  const waited = monotonicMicros() - arrivedAt
  return waited > 0 && Number.isFinite(waited) ? now - waited : now
}
