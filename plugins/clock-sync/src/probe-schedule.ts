/**
 * When to send clock probes (REALTIME.md, "Clock sync"): a quick burst on connect fills the
 * estimator's window so it is ready within about a second, then a slow randomised cadence keeps
 * the regression fed without a thundering herd of clients probing in lockstep.
 * Pure: the caller supplies the random source, so the plugin and the simulation share it.
 */

export interface ProbeSchedule {
  /** Probes sent back to back on connect (fills the estimator window). */
  readonly burstCount: number
  /** Gap range between burst probes, µs, inclusive-exclusive. */
  readonly burstGapUs: readonly [number, number]
  /** Gap range once the burst is done, µs. */
  readonly steadyGapUs: readonly [number, number]
}

export const DEFAULT_PROBE_SCHEDULE: ProbeSchedule = Object.freeze({
  burstCount: 8,
  burstGapUs: Object.freeze([100_000, 250_000]) as readonly [number, number],
  steadyGapUs: Object.freeze([2_000_000, 5_000_000]) as readonly [number, number],
})

/**
 * Delay before probe number `index` (0-based) is sent, measured from the previous probe; the first
 * probe goes at once. `random` returns a uniform number in [0, 1).
 */
export function probeGapUs(
  index: number,
  random: () => number,
  schedule: ProbeSchedule = DEFAULT_PROBE_SCHEDULE,
): number {
  if (index <= 0) return 0
  const [lo, hi] = index < schedule.burstCount ? schedule.burstGapUs : schedule.steadyGapUs
  return lo + (hi - lo) * random()
}
