/**
 * The peer-time clock applications read. Estimates jump by a few milliseconds from probe to probe;
 * handing those jumps to users would make timestamps run backwards or bunch up (the `timesync`
 * complaint, enmasseio/timesync#18). So, as ntpd does, the applied offset slews toward the
 * estimate at a bounded rate and only steps when it is so far off (> 128 ms) that slewing would
 * take minutes. A backward step is absorbed by holding the clock until local time catches up:
 * readings never decrease once synchronised.
 */

/** A target offset (peer − local, µs): a number, or a function of local time (an estimate with skew). */
export type OffsetTarget = number | ((atLocalUs: number) => number)

export interface ClockStep {
  /** Local time of the step, µs. */
  readonly atLocalUs: number
  /** Applied offset before the step; NaN on the first synchronisation. */
  readonly fromOffsetUs: number
  readonly toOffsetUs: number
  /** The first estimate: the clock becomes synchronised. */
  readonly initial: boolean
}

export interface SlewingClockOptions {
  /** Local time source, µs (see createLocalClock). */
  now: () => number
  /** Initial target; non-finite values (an estimator with no sample yet) are ignored. */
  target?: OffsetTarget
  /** Fastest slew, ppm of local time, default 500 (0.5 ms per second). */
  maxSlewPpm?: number
  /** Error above which the offset steps instead of slewing, µs, default 128_000 (ntpd). */
  stepThresholdUs?: number
  /** Called after each step, including the first synchronisation. */
  onStep?: (step: ClockStep) => void
}

export class SlewingClock {
  readonly maxSlewPpm: number
  /** Mutable: clock-sync steps freely during its connect burst (as chrony's makestep), then slews. */
  stepThresholdUs: number
  readonly #now: () => number
  readonly #onStep: ((step: ClockStep) => void) | undefined
  #target: OffsetTarget | undefined
  #appliedUs = Number.NaN
  #lastLocalUs = -Infinity
  #lastReadUs = -Infinity
  #steps = 0

  constructor(options: SlewingClockOptions) {
    const { maxSlewPpm = 500, stepThresholdUs = 128_000 } = options
    if (!(maxSlewPpm >= 0 && maxSlewPpm < 1e6)) throw new RangeError('SlewingClock: maxSlewPpm must be in [0, 1e6)')
    if (!(stepThresholdUs >= 0)) throw new RangeError('SlewingClock: stepThresholdUs must be ≥ 0')
    this.maxSlewPpm = maxSlewPpm
    this.stepThresholdUs = stepThresholdUs
    this.#now = options.now
    this.#onStep = options.onStep
    this.#target = options.target
  }

  /** Replaces the target and applies it at once (so a needed step happens now, not at the next read). */
  setTarget(target: OffsetTarget): void {
    this.#target = target
    this.#update(this.#readLocal())
  }

  /**
   * Peer time, µs. Before the first usable target it is the local clock (check `synced`); from the
   * first synchronisation on it never decreases.
   */
  read(): number {
    const local = this.#readLocal()
    this.#update(local)
    if (!this.synced) return local
    const value = Math.max(local + this.#appliedUs, this.#lastReadUs)
    this.#lastReadUs = value
    return value
  }

  get synced(): boolean {
    return !Number.isNaN(this.#appliedUs)
  }

  /** Offset currently added to local time, µs; NaN until synchronised. */
  get appliedOffsetUs(): number {
    return this.#appliedUs
  }

  /** Steps so far, the initial synchronisation included. */
  get stepCount(): number {
    return this.#steps
  }

  /** A source that runs backwards would break the slew-rate bound; treat it as standing still. */
  #readLocal(): number {
    const local = this.#now()
    return local > this.#lastLocalUs ? local : this.#lastLocalUs
  }

  #update(local: number): void {
    const elapsed = this.#lastLocalUs === -Infinity ? 0 : local - this.#lastLocalUs
    this.#lastLocalUs = local
    const t = this.#target
    const target = typeof t === 'function' ? t(local) : t
    if (target === undefined || !Number.isFinite(target)) return
    if (!this.synced) {
      // Readings before this were the bare local clock; the synchronised timeline starts here.
      this.#step(local, target, true)
      return
    }
    const error = target - this.#appliedUs
    if (Math.abs(error) > this.stepThresholdUs) {
      this.#step(local, target, false)
      return
    }
    const maxMove = elapsed * this.maxSlewPpm * 1e-6
    this.#appliedUs += Math.max(-maxMove, Math.min(maxMove, error))
  }

  #step(local: number, target: number, initial: boolean): void {
    const from = this.#appliedUs
    this.#appliedUs = target
    this.#steps++
    if (initial) this.#lastReadUs = -Infinity
    this.#onStep?.({ atLocalUs: local, fromOffsetUs: from, toOffsetUs: target, initial })
  }
}
