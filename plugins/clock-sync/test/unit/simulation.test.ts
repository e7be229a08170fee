import { seededRandom } from '@echostream/kernel'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PROBE_SCHEDULE, inBurst, probeGapUs } from '../../src/probe-schedule.js'
import { createSimulation, exponentialDelay, fixedDelay, quantile, runProbeExchanges } from '../../src/simulation.js'

describe('simulation harness', () => {
  it('exponential delays have the requested base and mean', () => {
    const rng = seededRandom(3)
    const draw = exponentialDelay(1_000, 25_000)
    const xs = Array.from({ length: 20_000 }, () => draw(rng))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1_000)
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeGreaterThan(25_500)
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeLessThan(26_500)
  })

  it('sends a burst of 8 probes 100–250 ms apart, then one every 2–5 s', () => {
    const sends: number[] = []
    const sim = createSimulation({
      seed: 11,
      forward: fixedDelay(1_000),
      reverse: fixedDelay(1_000),
      onSample: (sample) => sends.push(sample.t1),
    })
    sim.runSamples(40)
    const gaps = sends.slice(1).map((t, i) => t - sends[i])
    for (const gap of gaps.slice(0, 7)) {
      expect(gap).toBeGreaterThanOrEqual(100_000)
      expect(gap).toBeLessThan(250_000)
    }
    for (const gap of gaps.slice(7)) {
      expect(gap).toBeGreaterThanOrEqual(2e6)
      expect(gap).toBeLessThan(5e6)
    }
    expect(probeGapUs(0, () => 0.5, DEFAULT_PROBE_SCHEDULE)).toBe(0)
  })

  it('makes up burst answers the estimator rejected at the burst pace, then goes steady', () => {
    // Probes 3 and 6 (0-based) come back with impossible stamps (the peer's t2 before the client's
    // t1 in true time): on a 1 ms path each way the estimator rejects them.
    let sent = 0
    const glitched = () => sent === 4 || sent === 7
    const verdicts: string[] = []
    const sends: number[] = []
    const sim = createSimulation({
      seed: 4,
      forward: () => (++sent, glitched() ? -3_000 : 1_000),
      reverse: () => (glitched() ? 4_500 : 1_000),
      onSample: (sample, verdict) => {
        sends.push(sample.t1)
        verdicts.push(verdict)
      },
    })
    sim.runSamples(11)
    expect(verdicts.filter((v) => v === 'outlier')).toHaveLength(2)
    // Eight taken after ten probes, all 100–250 ms apart: ready within 2.5 s, not after two steady gaps.
    let taken = 0
    expect(verdicts.findIndex((v) => (v === 'accepted' ? ++taken : taken) === 8)).toBe(9)
    expect(sends[9]! - sends[0]!).toBeLessThan(9 * 250_000)
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!)
    for (const gap of gaps.slice(0, 9)) expect(gap).toBeLessThan(250_000)
    expect(gaps[9]).toBeGreaterThanOrEqual(2e6)
  })

  it('gives up the burst pace after three bursts of probes when answers keep being rejected', () => {
    for (const sent of [0, 7, 8, 23]) expect(inBurst(sent, 0)).toBe(true)
    expect(inBurst(24, 0)).toBe(false)
    expect(inBurst(8, 8)).toBe(false)
    expect(inBurst(8, 7)).toBe(true)
    // Without a count the schedule is the plain one: burst for the first eight.
    expect(probeGapUs(8, () => 0, DEFAULT_PROBE_SCHEDULE)).toBe(2e6)
    expect(probeGapUs(8, () => 0, DEFAULT_PROBE_SCHEDULE, 7)).toBe(100_000)
  })

  it('models the client clock as true·(1 + skew) + offset and stamps each side with its own clock', () => {
    const samples: { t1: number; t2: number; t3: number; t4: number }[] = []
    const sim = createSimulation({
      seed: 5,
      forward: fixedDelay(30_000),
      reverse: fixedDelay(10_000),
      processing: fixedDelay(100),
      offsetUs: 2e6,
      skewPpm: 100,
      onSample: (s) => samples.push(s),
    })
    const start = sim.nowUs
    expect(sim.localAt(start + 1e6) - (start + 1e6)).toBeCloseTo(2e6 + 100, 6)
    sim.runSamples(1)
    const [s] = samples
    expect(s.t1).toBe(sim.localAt(start))
    expect(s.t2).toBe(start + 30_000)
    expect(s.t3).toBe(start + 30_100)
    expect(s.t4).toBe(sim.localAt(start + 40_100))
  })

  it('replays identically for a seed, and measures the error of the estimate', () => {
    const q = exponentialDelay(0, 25_000)
    const a = runProbeExchanges({ seed: 9, forward: q, reverse: q, offsetUs: 1e6 }, 20)
    const b = runProbeExchanges({ seed: 9, forward: q, reverse: q, offsetUs: 1e6 }, 20)
    expect(a.errorUs()).toBe(b.errorUs())
    expect(a.samplesDelivered).toBe(20)
    const local = a.localAt(a.nowUs)
    expect(a.errorUs()).toBe(local + a.estimator.offsetUs(local) - a.nowUs)
  })

  it('quantile uses the nearest rank', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3)
    expect(quantile([1, 2, 3, 4], 0.95)).toBe(4)
    expect(quantile([], 0.5)).toBeNaN()
  })
})
