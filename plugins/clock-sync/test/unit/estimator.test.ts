import { describe, expect, it } from 'vitest'
import { ClockEstimator, type ClockSample } from '../../src/estimator.js'
import {
  createSimulation,
  exponentialDelay,
  fixedDelay,
  quantile,
  type Simulation,
  type SimulationOptions,
} from '../../src/simulation.js'

const SEEDS = Array.from({ length: 40 }, (_, i) => 1000 + i * 7919)
const TEN_MINUTES = 600e6
const queueing = exponentialDelay(0, 25_000)

/** Alternates ±10 s so both signs of a large offset are exercised. */
function offsetFor(seed: number): number {
  return (seed % 2 === 0 ? 1 : -1) * 10e6
}

function simulate(seed: number, options: Partial<SimulationOptions>): Simulation {
  return createSimulation({ seed, forward: queueing, reverse: queueing, offsetUs: offsetFor(seed), ...options })
}

/** |error| at `count` moments spread over the next `spanUs` of true time. */
function sampleErrors(sim: Simulation, spanUs: number, count: number): number[] {
  const errors: number[] = []
  for (let i = 0; i < count; i++) {
    sim.runUntil(sim.nowUs + spanUs / count)
    errors.push(Math.abs(sim.errorUs()))
  }
  return errors
}

describe('ClockEstimator on a simulated link', () => {
  it('fixed symmetric 10 ms, no jitter: |error| ≤ 1 µs', () => {
    for (const seed of SEEDS.slice(0, 8)) {
      const sim = simulate(seed, { forward: fixedDelay(10_000), reverse: fixedDelay(10_000) })
      sim.runSamples(1)
      expect(Math.abs(sim.errorUs())).toBeLessThanOrEqual(1)
      sim.runSamples(7)
      expect(sim.estimator.ready).toBe(true)
      expect(Math.max(...sampleErrors(sim, TEN_MINUTES, 60))).toBeLessThanOrEqual(1)
      expect(sim.estimator.regressionActive).toBe(true)
      expect(Math.abs(sim.estimator.skewPpm)).toBeLessThan(0.01)
      expect(sim.estimator.rttUs).toBeGreaterThanOrEqual(20_000)
      expect(sim.estimator.rttUs).toBeLessThanOrEqual(20_001)
    }
  })

  it('asymmetric 30 ms / 10 ms: biased by exactly half the difference, 10 ms (the documented limit)', () => {
    for (const seed of SEEDS.slice(0, 8)) {
      const sim = simulate(seed, { forward: fixedDelay(30_000), reverse: fixedDelay(10_000) })
      sim.runSamples(8)
      // Estimated peer time runs ahead: the slow forward trip is read as the peer being ahead.
      expect(sim.errorUs()).toBeCloseTo(10_000, 0)
      for (const e of sampleErrors(sim, TEN_MINUTES, 30)) expect(Math.abs(e - 10_000)).toBeLessThanOrEqual(1)
      // The round trip is known exactly; only its split is not.
      expect(sim.estimator.rttUs).toBeGreaterThanOrEqual(40_000)
    }
  })

  it('exponential queueing, mean 25 ms each way: p50 |error| ≲ 3 ms after the 8-probe burst', () => {
    const atBurst: number[] = []
    const beforeNext: number[] = []
    for (const seed of SEEDS) {
      const sim = simulate(seed, {})
      sim.runSamples(8)
      expect(sim.estimator.ready).toBe(true)
      atBurst.push(Math.abs(sim.errorUs()))
      // Between the burst and the first steady probe (≥ 2 s later) the estimate must hold.
      sim.runUntil(sim.nowUs + 1.5e6)
      beforeNext.push(Math.abs(sim.errorUs()))
    }
    expect(quantile(atBurst, 0.5)).toBeLessThanOrEqual(3_000)
    expect(quantile(beforeNext, 0.5)).toBeLessThanOrEqual(3_000)
  })

  it('exponential queueing: p50 |error| < 1 ms once the regression holds ≥ 64 samples', () => {
    const atFirst64: number[] = []
    const later: number[] = []
    for (const seed of SEEDS) {
      const sim = simulate(seed, {})
      while (sim.estimator.sampleCount < 64) sim.runSamples(1)
      expect(sim.estimator.regressionActive).toBe(true)
      atFirst64.push(Math.abs(sim.errorUs()))
      later.push(...sampleErrors(sim, 300e6, 20))
    }
    expect(quantile(atFirst64, 0.5)).toBeLessThan(1_000)
    expect(quantile(later, 0.5)).toBeLessThan(1_000)
  })

  it('skew 100 ppm over 10 simulated minutes: residual < 1 ms at the end', () => {
    const residuals: number[] = []
    for (const seed of SEEDS.slice(0, 24)) {
      const sim = simulate(seed, { skewPpm: 100 })
      sim.runUntil(sim.nowUs + TEN_MINUTES)
      residuals.push(Math.abs(sim.errorUs()))
      // peer − local shrinks by 1 − 1/(1 + 100e-6) per local µs: −99.99 ppm.
      expect(sim.estimator.skewPpm).toBeGreaterThan(-99.99 - 5)
      expect(sim.estimator.skewPpm).toBeLessThan(-99.99 + 5)
    }
    expect(quantile(residuals, 0.95)).toBeLessThan(1_000)

    const clean = simulate(1, { skewPpm: 100, forward: fixedDelay(10_000), reverse: fixedDelay(10_000) })
    clean.runUntil(clean.nowUs + TEN_MINUTES)
    expect(Math.abs(clean.errorUs())).toBeLessThanOrEqual(1)
  })

  it('without the skew term the same 100 ppm drift leaves more than 1 ms (the regression earns its keep)', () => {
    const sim = simulate(1, { skewPpm: 100, forward: fixedDelay(10_000), reverse: fixedDelay(10_000), estimator: { maxSkewPpm: 50 } })
    sim.runUntil(sim.nowUs + TEN_MINUTES)
    expect(sim.estimator.regressionActive).toBe(false)
    expect(sim.estimator.skewPpm).toBe(0)
    expect(Math.abs(sim.errorUs())).toBeGreaterThan(1_000)
  })

  it('ignores a fitted slope beyond maxSkewPpm and keeps the filtered offset', () => {
    const sim = simulate(3, { skewPpm: 800, forward: fixedDelay(10_000), reverse: fixedDelay(10_000) })
    sim.runUntil(sim.nowUs + 300e6)
    expect(sim.estimator.sampleCount).toBeGreaterThan(64)
    expect(sim.estimator.regressionActive).toBe(false)
    expect(sim.estimator.stats.outliers).toBe(0)
  })
})

/** Exchanges on a clean 10 ms path with the peer `offsetUs` ahead, one per `gapUs` of local time. */
function exchanges(count: number, offsetUs: number, startUs = 1.7e15, gapUs = 3e6): ClockSample[] {
  return Array.from({ length: count }, (_, i) => {
    const t1 = startUs + i * gapUs
    return { t1, t2: t1 + offsetUs + 10_000, t3: t1 + offsetUs + 10_100, t4: t1 + 20_100 }
  })
}

describe('ClockEstimator filter', () => {
  it('discards samples with negative round-trip delay or non-finite stamps', () => {
    const est = new ClockEstimator()
    for (const s of exchanges(8, 5e6)) est.addSample(s)
    const before = est.offsetUs(1.7e15)
    const t1 = 1.7e15 + 30e6
    // The peer claims it held the probe 50 ms, the whole trip took 20 ms: δ = −30 ms.
    expect(est.addSample({ t1, t2: t1 + 5e6 - 30_000, t3: t1 + 5e6 + 20_000, t4: t1 + 20_000 })).toBe('discarded')
    expect(est.addSample({ t1, t2: Number.NaN, t3: t1, t4: t1 + 1 })).toBe('discarded')
    expect(est.stats.discarded).toBe(2)
    expect(est.sampleCount).toBe(8)
    expect(est.offsetUs(1.7e15)).toBe(before)
  })

  it('drops a sample whose offset is impossible given its delay (a peer glitch), even with the smallest δ', () => {
    const est = new ClockEstimator()
    for (const s of exchanges(8, 5e6)) est.addSample(s)
    const t1 = 1.7e15 + 30e6
    const glitch = { t1, t2: t1 + 5e6 + 200_000 + 5_000, t3: t1 + 5e6 + 200_000 + 5_050, t4: t1 + 10_050 }
    expect(est.addSample(glitch)).toBe('outlier')
    expect(est.stats.outliers).toBe(1)
    expect(est.offsetUs(t1)).toBeCloseTo(5e6, 3)
    expect(est.rttUs).toBeCloseTo(20_000, 3)
    // The next good sample ends the run; the glitch never reaches the history.
    expect(est.addSample(exchanges(1, 5e6, t1 + 3e6)[0])).toBe('accepted')
    expect(est.sampleCount).toBe(9)
  })

  it('undoes a glitched first sample once the good samples after it agree', () => {
    const est = new ClockEstimator()
    const t = 1.7e15
    expect(est.addSample({ t1: t, t2: t + 5e6 + 300_000, t3: t + 5e6 + 300_100, t4: t + 10_100 })).toBe('accepted')
    const good = exchanges(12, 5e6, t + 200_000, 200_000)
    expect(good.slice(0, 4).map((s) => est.addSample(s))).toEqual(['outlier', 'outlier', 'outlier', 'reset'])
    for (const s of good.slice(4)) expect(est.addSample(s)).toBe('accepted')
    expect(est.offsetUs(good[11].t4)).toBeCloseTo(5e6, 3)
    expect(est.sampleCount).toBe(12)
  })

  it('keeps a slow but consistent sample: a long queue is noise, not an outlier', () => {
    const est = new ClockEstimator()
    for (const s of exchanges(8, 5e6)) est.addSample(s)
    const t1 = 1.7e15 + 30e6
    // 290 ms queued on the way out: θ reads 140 ms high, but its interval [θ − δ/2, θ + δ/2] holds the truth.
    const slow = { t1, t2: t1 + 5e6 + 300_000, t3: t1 + 5e6 + 300_100, t4: t1 + 310_100 }
    expect(est.addSample(slow)).toBe('accepted')
    expect(est.offsetUs(t1)).toBeCloseTo(5e6, 3)
  })

  it('restarts from a run of agreeing outliers: the peer clock stepped', () => {
    const est = new ClockEstimator()
    for (const s of exchanges(40, 5e6)) est.addSample(s)
    expect(est.regressionActive).toBe(true)
    const after = exchanges(8, 6e6, 1.7e15 + 40 * 3e6)
    expect(after.slice(0, 3).map((s) => est.addSample(s))).toEqual(['outlier', 'outlier', 'outlier'])
    expect(est.offsetUs(after[2].t1)).toBeCloseTo(5e6, 3)
    expect(est.addSample(after[3])).toBe('reset')
    expect(est.stats.resets).toBe(1)
    expect(est.offsetUs(after[3].t1)).toBeCloseTo(6e6, 3)
    expect(est.sampleCount).toBe(4)
  })

  it('reports jitter as the RMS spread around the selected sample', () => {
    const est = new ClockEstimator({ window: 4 })
    const t = 1.7e15
    // Selected: the 20 ms round trip (θ = 0); the others read +1, −1, +1 ms → RMS 1 ms.
    est.addSample({ t1: t, t2: t + 10_000, t3: t + 10_000, t4: t + 20_000 })
    est.addSample({ t1: t + 1e5, t2: t + 1e5 + 13_000, t3: t + 1e5 + 13_000, t4: t + 1e5 + 24_000 })
    est.addSample({ t1: t + 2e5, t2: t + 2e5 + 11_000, t3: t + 2e5 + 11_000, t4: t + 2e5 + 24_000 })
    est.addSample({ t1: t + 3e5, t2: t + 3e5 + 13_000, t3: t + 3e5 + 13_000, t4: t + 3e5 + 24_000 })
    expect(est.rttUs).toBe(20_000)
    expect(est.jitterUs).toBeCloseTo(1_000, 6)
  })

  it('rejects invalid options', () => {
    expect(() => new ClockEstimator({ window: 0 })).toThrow(RangeError)
    expect(() => new ClockEstimator({ maxSkewPpm: Number.NaN })).toThrow(RangeError)
    expect(() => new ClockEstimator({ minRegressionSamples: 1 })).toThrow(RangeError)
  })

  it('reads NaN and not ready before any sample', () => {
    const est = new ClockEstimator()
    expect(est.offsetUs(0)).toBeNaN()
    expect(est.rttUs).toBeNaN()
    expect(est.ready).toBe(false)
  })
})
