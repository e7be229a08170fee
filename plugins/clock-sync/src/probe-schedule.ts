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
 * A burst whose answers the estimator did not all take (outliers on a loaded machine, lost
 * replies) goes on at the burst pace until it has `burstCount` samples, for at most this many
 * times `burstCount` probes in all. Without it each missing sample cost a steady gap (2–5 s), and
 * `whenSynced()` on a busy CI machine waited 10 s for the last two of eight.
 */
export const BURST_PROBE_FACTOR = 3

/**
 * Whether the probe after `sent` probes still belongs to the burst, given the samples the
 * estimator holds (`taken`: accepted ones, plus any answer still in flight that it may yet take).
 */
export function inBurst(sent: number, taken: number, schedule: ProbeSchedule = DEFAULT_PROBE_SCHEDULE): boolean {
  return sent < schedule.burstCount || (taken < schedule.burstCount && sent < schedule.burstCount * BURST_PROBE_FACTOR)
}

/**
 * Delay before probe number `index` (0-based) is sent, measured from the previous probe; the first
 * probe goes at once. `random` returns a uniform number in [0, 1). `taken` is as in `inBurst`;
 * by default a full burst's, i.e. the plain schedule.
 */
export function probeGapUs(
  index: number,
  random: () => number,
  schedule: ProbeSchedule = DEFAULT_PROBE_SCHEDULE,
  taken: number = schedule.burstCount,
): number {
  if (index <= 0) return 0
  const [lo, hi] = inBurst(index, taken, schedule) ? schedule.burstGapUs : schedule.steadyGapUs
  return lo + (hi - lo) * random()
}
