/**
 * The pure clock-sync core (no kernel, no network); the plugin's index re-exports it.
 * The simulation (./simulation.js) is deliberately left out: it is a test and benchmark harness,
 * not runtime API, so those import it by path.
 */
export {
  ClockEstimator,
  type ClockEstimatorOptions,
  type ClockEstimatorStats,
  type ClockSample,
  type SampleVerdict,
} from './estimator.js'
export { SlewingClock, type ClockStep, type OffsetTarget, type SlewingClockOptions } from './slewing-clock.js'
export { createLocalClock, type LocalClock, type LocalClockOptions } from './local-clock.js'
export { BURST_PROBE_FACTOR, DEFAULT_PROBE_SCHEDULE, inBurst, probeGapUs, type ProbeSchedule } from './probe-schedule.js'
