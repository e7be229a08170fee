/**
 * Deterministic clock-sync simulation (REALTIME.md, "Test deterministically"): a virtual true
 * clock, a client clock that is offset and skewed from it, a link with its own delay distribution
 * per direction, and probes sent on the real schedule, all driven by one seeded PRNG. It lives in
 * src, not test, so a benchmark can reuse it; nothing in the plugin's runtime path imports it.
 *
 * The peer (server) clock is the true clock. The client clock is
 *   local(T) = T + offsetUs + skew · (T − startUs)
 * i.e. true·(1 + skew) + offset with true time counted from the start, then shifted to an
 * epoch-like scale (startUs) so float precision is what production sees.
 */
import { seededRandom } from '@echostream/kernel'
import { ClockEstimator, type ClockEstimatorOptions, type ClockSample, type SampleVerdict } from './estimator.js'
import { DEFAULT_PROBE_SCHEDULE, inBurst, probeGapUs, type ProbeSchedule } from './probe-schedule.js'

/** Uniform random number in [0, 1): the simulation draws from the kernel's `seededRandom(seed)`. */
export type Rng = () => number

/** A one-way delay (or processing time) in true µs, drawn from `rng`. */
export type DelayModel = (rng: Rng) => number

export function fixedDelay(us: number): DelayModel {
  return () => us
}

/** A fixed path delay plus exponential queueing: the classic model of a busy hop. */
export function exponentialDelay(baseUs: number, meanUs: number): DelayModel {
  // 1 − u is in (0, 1], so the log is finite.
  return (rng) => baseUs - meanUs * Math.log(1 - rng())
}

export function uniformDelay(loUs: number, hiUs: number): DelayModel {
  return (rng) => loUs + (hiUs - loUs) * rng()
}

export interface SimulationOptions {
  seed: number
  /** Client → peer. */
  forward: DelayModel
  /** Peer → client. */
  reverse: DelayModel
  /** Peer time between t2 and t3, default 20–200 µs uniform. */
  processing?: DelayModel
  /** Client clock minus true clock at the start, µs, default 0. */
  offsetUs?: number
  /** Client clock rate error, ppm (positive = client runs fast), default 0. */
  skewPpm?: number
  /** True time at the start, µs, default 1.7e15 (late 2023 as epoch µs). */
  startUs?: number
  schedule?: ProbeSchedule
  estimator?: ClockEstimatorOptions
  /** Sees each sample as it reaches the estimator. */
  onSample?: (sample: ClockSample, verdict: SampleVerdict, sim: Simulation) => void
}

export interface Simulation {
  readonly estimator: ClockEstimator
  /** Current true time, µs (= peer time). */
  readonly nowUs: number
  readonly probesSent: number
  readonly samplesDelivered: number
  /** Client clock reading at true time `trueUs`. */
  localAt(trueUs: number): number
  /** Runs every send and arrival up to true time `trueUs`, then sets the time to it. */
  runUntil(trueUs: number): void
  /** Runs until `count` more samples reached the estimator; the time stops at the last arrival. */
  runSamples(count: number): void
  /** Estimated peer time minus true peer time at true time `atTrueUs` (default now), µs. */
  errorUs(atTrueUs?: number): number
}

interface InFlight {
  readonly arrivalUs: number
  readonly sample: ClockSample
}

export function createSimulation(options: SimulationOptions): Simulation {
  const rng = seededRandom(options.seed)
  const startUs = options.startUs ?? 1.7e15
  const offsetUs = options.offsetUs ?? 0
  const skew = (options.skewPpm ?? 0) * 1e-6
  const processing = options.processing ?? uniformDelay(20, 200)
  const schedule = options.schedule ?? DEFAULT_PROBE_SCHEDULE
  const estimator = new ClockEstimator(options.estimator)
  const inFlight: InFlight[] = []
  let nowUs = startUs
  let nextSendUs = startUs
  let probesSent = 0
  let samplesDelivered = 0

  const localAt = (trueUs: number): number => trueUs + offsetUs + skew * (trueUs - startUs)

  function send(atUs: number): void {
    const arriveUs = atUs + options.forward(rng)
    const replyUs = arriveUs + processing(rng)
    const backUs = replyUs + options.reverse(rng)
    const sample = { t1: localAt(atUs), t2: arriveUs, t3: replyUs, t4: localAt(backUs) }
    // Keep arrivals ordered: a long queueing delay can let a later probe overtake.
    let i = inFlight.length
    while (i > 0 && inFlight[i - 1].arrivalUs > backUs) i--
    inFlight.splice(i, 0, { arrivalUs: backUs, sample })
    probesSent++
    // As the plugin: the probe just sent counts as taken until its answer says otherwise.
    nextSendUs = atUs + probeGapUs(probesSent, rng, schedule, estimator.stats.accepted + 1)
  }

  function deliver(): void {
    const { arrivalUs, sample } = inFlight.shift() as InFlight
    nowUs = arrivalUs
    samplesDelivered++
    const verdict = estimator.addSample(sample)
    if ((verdict === 'discarded' || verdict === 'outlier') && inBurst(probesSent, estimator.stats.accepted, schedule)) {
      nextSendUs = nowUs + probeGapUs(probesSent, rng, schedule, estimator.stats.accepted)
    }
    options.onSample?.(sample, verdict, sim)
  }

  /** Processes the next event if it is due by `limitUs`; false when nothing is. */
  function step(limitUs: number): boolean {
    const arrival = inFlight.length > 0 ? inFlight[0].arrivalUs : Infinity
    if (nextSendUs <= arrival && nextSendUs <= limitUs) {
      nowUs = nextSendUs
      send(nextSendUs)
      return true
    }
    if (arrival <= limitUs) {
      deliver()
      return true
    }
    return false
  }

  const sim: Simulation = {
    estimator,
    get nowUs() {
      return nowUs
    },
    get probesSent() {
      return probesSent
    },
    get samplesDelivered() {
      return samplesDelivered
    },
    localAt,
    runUntil(trueUs) {
      while (step(trueUs));
      nowUs = Math.max(nowUs, trueUs)
    },
    runSamples(count) {
      const target = samplesDelivered + count
      while (samplesDelivered < target) step(Infinity)
    },
    errorUs(atTrueUs = nowUs) {
      const local = localAt(atTrueUs)
      return local + estimator.offsetUs(local) - atTrueUs
    },
  }
  return sim
}

/** Runs `probes` exchanges on the schedule and returns the simulation, stopped at the last arrival. */
export function runProbeExchanges(options: SimulationOptions, probes: number): Simulation {
  const sim = createSimulation(options)
  sim.runSamples(probes)
  return sim
}

/** The q-quantile (0..1) of `values`, nearest rank; for reporting error distributions. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}
