/**
 * Clock offset estimator: probe exchanges in, "peer time − local time" out. Pure and synchronous
 * so the plugin, the simulation and a benchmark drive it the same way.
 *
 * Design (measured against the simulated bounds in test/unit/estimator.test.ts):
 * - NTP clock filter (RFC 5905 §10) over the last `window` samples: δ < 0 is discarded, the
 *   minimum-δ sample is "selected" (it gives `rttUs` and is the outlier reference), jitter is the
 *   RMS of the other offsets around it, and a sample more than `outlierGate` × jitter away is
 *   dropped, if its correctness interval [θ − δ/2, θ + δ/2] is also disjoint from the interval the
 *   data already prove. That second condition spares samples that are merely slow: queueing has
 *   heavy tails, a 3 × RMS gate alone rejected ~10 % of them in simulation, and rejecting them
 *   shrank the jitter and rejected more. Slow samples cannot hurt the estimate (it uses the
 *   fastest trips); a sample impossible given its own delay (a peer glitch) can. Before the
 *   window can measure jitter the interval test decides alone; before the skew is known both
 *   tests are widened by what a `maxSkewPpm` drift could explain.
 * - Until the regression is trusted, the estimate is the midpoint of the intersection of the
 *   window's correctness intervals (see offset-fit.ts): the best forward and best reverse trip,
 *   even from different probes. With exponential queueing (mean 25 ms each way) this gives a
 *   median error ≈ 1 ms from 8 samples, against ≈ 2.5 ms for the single minimum-δ sample.
 * - Every accepted sample of the last `regressionWindowUs` feeds a lower-envelope fit of both
 *   one-way delays with a shared slope (an LP, not least squares: least squares keeps the queueing
 *   noise, the envelope converges as 1/n). Its line θ(t) = a + b·t replaces the window estimate once
 *   it holds `minRegressionSamples` (N = 32, where it starts to beat the window in simulation)
 *   and |b| < `maxSkewPpm`.
 * - `window / 2` outliers in a row whose intervals agree with one another mean the peer clock or
 *   the path changed, not noise: the filter and the history restart from those samples.
 */
import { envelopeFit, intervalIntersection, type FitSample, type OffsetLine } from './offset-fit.js'

/** One probe exchange, µs. t1 and t4 on the local clock, t2 and t3 on the peer's. */
export interface ClockSample {
  /** Local time the probe was sent. */
  readonly t1: number
  /** Peer time the probe arrived (stamped before decoding or queueing). */
  readonly t2: number
  /** Peer time the reply was written. */
  readonly t3: number
  /** Local time the reply arrived. */
  readonly t4: number
}

/** What `addSample` did with a sample; 'reset' means it completed a run of outliers that restarted the filter. */
export type SampleVerdict = 'accepted' | 'discarded' | 'outlier' | 'reset'

export interface ClockEstimatorOptions {
  /** Samples in the clock filter (NTP's register), default 8. */
  window?: number
  /** Age span of the regression history, µs of local time, default 600e6 (10 minutes). */
  regressionWindowUs?: number
  /** Samples the regression needs before its line is used, default 32. */
  minRegressionSamples?: number
  /** Largest skew believed, ppm, default 500 (ntpd's limit). A larger fitted slope is ignored. */
  maxSkewPpm?: number
  /** Outlier distance in multiples of the jitter, default 3. */
  outlierGate?: number
  /** Lower bound on the jitter used by the outlier gate, µs, default 10 (timestamp granularity). */
  jitterFloorUs?: number
}

export interface ClockEstimatorStats {
  readonly accepted: number
  readonly discarded: number
  readonly outliers: number
  readonly resets: number
}

interface Sample extends FitSample {
  readonly thetaUs: number
  readonly delayUs: number
  /** Local midpoint of the exchange: where θ is observed. */
  readonly atUs: number
}

/** Bounds memory when probes come faster than the default schedule. */
const MAX_HISTORY = 1024

const DEFAULTS: Readonly<Required<ClockEstimatorOptions>> = Object.freeze({
  window: 8,
  regressionWindowUs: 600e6,
  minRegressionSamples: 32,
  maxSkewPpm: 500,
  outlierGate: 3,
  jitterFloorUs: 10,
})

export class ClockEstimator {
  readonly options: Readonly<Required<ClockEstimatorOptions>>
  #window: Sample[] = []
  #history: Sample[] = []
  #pending: Sample[] = []
  #selected: Sample | undefined
  #jitterUs = 0
  /** Window estimate: the midpoint and half-width of its samples' interval intersection. */
  #filtered = { offsetUs: Number.NaN, halfWidthUs: Number.NaN }
  /** Regression line, set only while it is trusted (enough samples, |b| < maxSkewPpm). */
  #line: OffsetLine | undefined
  #stats = { accepted: 0, discarded: 0, outliers: 0, resets: 0 }

  constructor(options: ClockEstimatorOptions = {}) {
    this.options = Object.freeze(validate({ ...DEFAULTS, ...stripUndefined(options) }))
  }

  addSample(sample: ClockSample): SampleVerdict {
    const { t1, t2, t3, t4 } = sample
    const delayUs = t4 - t1 - (t3 - t2)
    // Samples come off the wire: bad numbers are counted and ignored, never thrown.
    if (![t1, t2, t3, t4].every(Number.isFinite) || !(delayUs >= 0) || t4 < t1) {
      this.#stats.discarded++
      return 'discarded'
    }
    const s: Sample = {
      t1,
      t4,
      forwardUs: t2 - t1,
      reverseUs: t4 - t3,
      thetaUs: (t2 - t1 + (t3 - t4)) / 2,
      delayUs,
      atUs: t1 + (t4 - t1) / 2,
    }
    if (this.#isOutlier(s)) {
      this.#stats.outliers++
      this.#pending.push(s)
      if (this.#pending.length > this.#restartRun()) this.#pending.shift()
      if (this.#pending.length < this.#restartRun() || !consistent(this.#pending)) return 'outlier'
      const run = this.#pending
      this.reset()
      this.#stats.resets++
      for (const r of run) this.#accept(r)
      this.#refresh()
      return 'reset'
    }
    this.#pending = []
    this.#accept(s)
    this.#refresh()
    return 'accepted'
  }

  /** Forgets every sample (counters are kept): call when the peer changes, e.g. on a new session. */
  reset(): void {
    this.#window = []
    this.#history = []
    this.#pending = []
    this.#selected = undefined
    this.#jitterUs = 0
    this.#filtered = { offsetUs: Number.NaN, halfWidthUs: Number.NaN }
    this.#line = undefined
  }

  /** Estimated peer − local at local time `atLocalUs`, skew included; NaN before any sample. */
  offsetUs(atLocalUs: number): number {
    const line = this.#line
    if (line === undefined) return this.#filtered.offsetUs
    return line.offsetUs + line.slope * (atLocalUs - line.originUs)
  }

  /** Round-trip delay of the selected (minimum-δ) sample, µs; NaN before any sample. */
  get rttUs(): number {
    return this.#selected?.delayUs ?? Number.NaN
  }

  /** Slope of the offset in use, ppm: ≈ −100 when the local clock runs 100 ppm fast. 0 until the regression is trusted. */
  get skewPpm(): number {
    return this.#line === undefined ? 0 : this.#line.slope * 1e6
  }

  /** RMS spread of the window's offsets around the selected sample, µs. */
  get jitterUs(): number {
    return this.#jitterUs
  }

  /** Accepted samples in the regression history. */
  get sampleCount(): number {
    return this.#history.length
  }

  /** True once the filter window is full (after the connect burst). */
  get ready(): boolean {
    return this.#window.length >= this.options.window
  }

  /** True while offsetUs uses the regression line (and so the skew). */
  get regressionActive(): boolean {
    return this.#line !== undefined
  }

  get stats(): ClockEstimatorStats {
    return { ...this.#stats }
  }

  #restartRun(): number {
    return Math.max(2, Math.ceil(this.options.window / 2))
  }

  #isOutlier(s: Sample): boolean {
    const window = this.#window
    if (window.length === 0) return false
    const line = this.#line
    // Without a trusted slope the window estimate is a constant: allow the drift the largest
    // believed skew could build up since the oldest sample it rests on.
    const allowance = line === undefined ? this.options.maxSkewPpm * 1e-6 * Math.abs(s.atUs - window[0].atUs) : 0
    // Physical test first: can the sample's interval [−r, f] and the data's interval overlap?
    const estimate = this.offsetUs(s.atUs)
    const halfWidth = Math.max(0, line === undefined ? this.#filtered.halfWidthUs : line.halfWidthUs) + allowance
    if (s.forwardUs >= estimate - halfWidth && -s.reverseUs <= estimate + halfWidth) return false
    // Too few samples to measure jitter: the impossibility alone decides (a bad first sample is
    // then undone by the restart rule, as the good samples after it agree with one another).
    const selected = this.#selected
    if (selected === undefined || window.length < this.#restartRun()) return true
    const slope = line?.slope ?? 0
    const gate = this.options.outlierGate * Math.max(this.#jitterUs, this.options.jitterFloorUs) + allowance
    return Math.abs(s.thetaUs - (selected.thetaUs + slope * (s.atUs - selected.atUs))) > gate
  }

  #accept(s: Sample): void {
    this.#stats.accepted++
    this.#window.push(s)
    if (this.#window.length > this.options.window) this.#window.shift()
    const history = this.#history
    history.push(s)
    const oldest = s.t4 - this.options.regressionWindowUs
    while (history.length > MAX_HISTORY || (history.length > 0 && history[0].t4 < oldest)) history.shift()
  }

  #refresh(): void {
    const window = this.#window
    let selected = window[0]
    // `<=` prefers the newest of equal delays: on a jitter-free path it keeps the reference fresh.
    for (const s of window) if (s.delayUs <= selected.delayUs) selected = s
    this.#selected = selected
    this.#filtered = intervalIntersection(window)

    this.#line = undefined
    const history = this.#history
    if (history.length >= this.options.minRegressionSamples) {
      const maxSlope = this.options.maxSkewPpm * 1e-6
      const origin = history[0].t1 + (history[history.length - 1].t4 - history[0].t1) / 2
      // Search twice the accepted range so a slope beyond it is seen as such, not clamped to it.
      const line = envelopeFit(history, origin, 2 * maxSlope)
      if (Math.abs(line.slope) < maxSlope) this.#line = line
    }

    const slope = this.#line?.slope ?? 0
    let sum = 0
    for (const s of window) {
      if (s === selected) continue
      const d = s.thetaUs - (selected.thetaUs + slope * (s.atUs - selected.atUs))
      sum += d * d
    }
    this.#jitterUs = window.length > 1 ? Math.sqrt(sum / (window.length - 1)) : 0
  }
}

/** True when the samples' correctness intervals [−r, f] share a point: they agree on an offset. */
function consistent(samples: readonly Sample[]): boolean {
  let lowest = Infinity
  let highest = -Infinity
  for (const s of samples) {
    lowest = Math.min(lowest, s.forwardUs)
    highest = Math.max(highest, -s.reverseUs)
  }
  return highest <= lowest
}

function stripUndefined(options: ClockEstimatorOptions): ClockEstimatorOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
}

function validate(o: Required<ClockEstimatorOptions>): Required<ClockEstimatorOptions> {
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`ClockEstimator: ${what}`)
  }
  check(Number.isInteger(o.window) && o.window >= 1, 'window must be an integer ≥ 1')
  check(o.regressionWindowUs > 0, 'regressionWindowUs must be > 0')
  check(Number.isInteger(o.minRegressionSamples) && o.minRegressionSamples >= 2, 'minRegressionSamples must be an integer ≥ 2')
  check(o.maxSkewPpm > 0 && Number.isFinite(o.maxSkewPpm), 'maxSkewPpm must be a finite number > 0')
  check(o.outlierGate > 0, 'outlierGate must be > 0 (Infinity disables outlier rejection)')
  check(o.jitterFloorUs >= 0 && Number.isFinite(o.jitterFloorUs), 'jitterFloorUs must be a finite number ≥ 0')
  return o
}
