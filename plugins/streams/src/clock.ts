/**
 * Which clock stamps `wallTime` and drives playout. With the clock-sync plugin loaded,
 * `kernel.clock.now()` is the server's timebase in µs and `toLocal` maps it onto this side's
 * local clock. Without it, both sides read their own local clock: monotonic µs from
 * `process.hrtime`, anchored once to `Date.now()` (so it never steps with NTP), which is the same
 * timebase only when both sides run on one machine.
 */

/** What this plugin needs of `kernel.clock` (provided by @echostream/plugin-clock-sync). */
export interface StreamClock {
  /** µs in the synchronised (server's) timebase. */
  now(): number
  /** This side's own monotonic clock, µs (the timebase `toLocal` maps onto). */
  localNow?(): number
  /** Maps synchronised µs onto this side's local µs. */
  toLocal?(us: number): number
  /** Maps local µs onto synchronised µs. */
  fromLocal?(us: number): number
}

function createMonotonicMicros(): () => number {
  const hrtime = typeof process !== 'undefined' ? process.hrtime : undefined
  if (hrtime !== undefined && typeof hrtime.bigint === 'function') {
    // Subtract as bigint first: the nanosecond counter can exceed 2^53; the elapsed part cannot.
    const baseNs = hrtime.bigint()
    const anchorUs = Date.now() * 1000
    return () => anchorUs + Number(hrtime.bigint() - baseNs) / 1000
  }
  const origin = performance.timeOrigin
  return () => (origin + performance.now()) * 1000
}

/** The process-wide local clock, µs: anchored once so every stream in the process agrees. */
export const localNow: () => number = createMonotonicMicros()

/** The clock-sync plugin's clock when loaded, read at each use (it may be loaded later). */
export function clockOf(kernel: object): StreamClock | undefined {
  const clock = (kernel as { clock?: StreamClock }).clock
  return clock !== undefined && typeof clock.now === 'function' ? clock : undefined
}

/** µs in the synchronised timebase now (the local clock without clock-sync), whole µs. */
export function wallNow(kernel: object): number {
  const clock = clockOf(kernel)
  return Math.round(clock ? clock.now() : localNow())
}

/** Local µs now and the wallTime → local µs mapping, for the jitter buffer. */
export function playoutClock(kernel: object): { now: () => number; toLocal: (us: number) => number } {
  return {
    now: () => {
      const clock = clockOf(kernel)
      if (!clock) return localNow()
      if (clock.localNow) return clock.localNow()
      // Without toLocal the synchronised clock *is* the timebase we play in.
      return clock.toLocal ? clock.toLocal(clock.now()) : clock.now()
    },
    toLocal: (us) => {
      const clock = clockOf(kernel)
      return clock?.toLocal ? clock.toLocal(us) : us
    },
  }
}
