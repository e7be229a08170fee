import { seededRandom } from '@echostream/kernel'
import { describe, expect, it } from 'vitest'
import { SlewingClock, type ClockStep } from '../../src/slewing-clock.js'
import { createSimulation, exponentialDelay } from '../../src/simulation.js'

/** A hand-driven local clock, µs. */
function manualTime(startUs = 1.7e15): { now: () => number; advance: (us: number) => void } {
  let t = startUs
  return { now: () => t, advance: (us) => void (t += us) }
}

function setup(options: { maxSlewPpm?: number; stepThresholdUs?: number } = {}) {
  const time = manualTime()
  const steps: ClockStep[] = []
  const clock = new SlewingClock({ now: time.now, onStep: (s) => steps.push(s), ...options })
  return { time, steps, clock }
}

describe('SlewingClock', () => {
  it('reads the local clock until a usable target arrives, then steps to it once', () => {
    const { time, steps, clock } = setup()
    expect(clock.read()).toBe(time.now())
    clock.setTarget(Number.NaN) // an estimator with no sample yet
    expect(clock.synced).toBe(false)
    clock.setTarget(-10e6)
    expect(clock.synced).toBe(true)
    expect(steps).toHaveLength(1)
    expect(steps[0]).toMatchObject({ initial: true, toOffsetUs: -10e6 })
    expect(steps[0].fromOffsetUs).toBeNaN()
    expect(clock.read()).toBe(time.now() - 10e6)
  })

  it('slews toward a new target at no more than 0.5 ms per second, without stepping', () => {
    const { time, steps, clock } = setup()
    clock.setTarget(0)
    clock.setTarget(50_000)
    let previous = clock.read()
    for (let i = 0; i < 10_000; i++) {
      time.advance(1_000)
      const value = clock.read()
      expect(value - previous).toBeGreaterThanOrEqual(1_000 * (1 - 500e-6) - 1e-6)
      expect(value - previous).toBeLessThanOrEqual(1_000 * (1 + 500e-6) + 1e-6)
      previous = value
    }
    // 10 s at 500 ppm: 5 ms of the 50 ms covered.
    expect(clock.appliedOffsetUs).toBeCloseTo(5_000, 3)
    time.advance(90e6)
    clock.read()
    expect(clock.appliedOffsetUs).toBeCloseTo(50_000, 3)
    time.advance(10e6)
    clock.read()
    expect(clock.appliedOffsetUs).toBe(50_000) // and does not overshoot
    expect(steps).toHaveLength(1)
  })

  it('steps forward when the error exceeds 128 ms', () => {
    const { time, steps, clock } = setup()
    clock.setTarget(0)
    time.advance(1e6)
    clock.setTarget(127_000)
    expect(steps).toHaveLength(1)
    clock.setTarget(200_000)
    expect(steps).toHaveLength(2)
    expect(steps[1]).toMatchObject({ initial: false, toOffsetUs: 200_000, atLocalUs: time.now() })
    expect(clock.read()).toBe(time.now() + 200_000)
  })

  it('never goes backwards: a backward step holds the clock until local time catches up', () => {
    const { time, steps, clock } = setup()
    clock.setTarget(0)
    const before = clock.read()
    clock.setTarget(-300_000)
    expect(steps).toHaveLength(2)
    expect(clock.read()).toBe(before)
    time.advance(299_000)
    expect(clock.read()).toBe(before)
    time.advance(2_000)
    expect(clock.read()).toBe(before + 1_000)
  })

  it('a backward error below the threshold is slewed, not stepped', () => {
    const { time, steps, clock } = setup()
    clock.setTarget(0)
    clock.setTarget(-100_000)
    let previous = clock.read()
    for (let i = 0; i < 1_000; i++) {
      time.advance(10_000)
      const value = clock.read()
      expect(value).toBeGreaterThan(previous)
      previous = value
    }
    expect(steps).toHaveLength(1)
    expect(clock.appliedOffsetUs).toBeCloseTo(-5_000, 3)
  })

  it('is monotonic under random targets, random read intervals and a source that stalls or jumps back', () => {
    const rng = seededRandom(42)
    const { time, clock } = setup()
    let t = time.now()
    const clock2 = new SlewingClock({ now: () => t })
    // Monotonic from synchronisation on (readings before it are the bare local clock).
    clock.setTarget(0)
    clock2.setTarget(0)
    let previous = -Infinity
    let previous2 = -Infinity
    for (let i = 0; i < 20_000; i++) {
      const r = rng()
      if (r < 0.01) clock.setTarget((rng() - 0.5) * 2e6) // often beyond the step threshold
      else if (r < 0.2) clock.setTarget(clock.appliedOffsetUs + (rng() - 0.5) * 200_000)
      time.advance(rng() < 0.1 ? 0 : rng() * 50_000)
      const value = clock.read()
      expect(value).toBeGreaterThanOrEqual(previous)
      previous = value

      t += rng() < 0.05 ? -rng() * 1e6 : rng() * 50_000 // misbehaving source
      if (r < 0.02) clock2.setTarget((rng() - 0.5) * 2e6)
      const value2 = clock2.read()
      expect(value2).toBeGreaterThanOrEqual(previous2)
      previous2 = value2
    }
  })

  it('follows a drifting target (skew) given as a function of local time', () => {
    const { time, steps, clock } = setup()
    const start = time.now()
    const target = (at: number) => 2e6 - 100e-6 * (at - start)
    clock.setTarget(target)
    for (let i = 0; i < 600; i++) {
      time.advance(1e6)
      clock.read()
      expect(Math.abs(clock.appliedOffsetUs - target(time.now()))).toBeLessThan(1e-3)
    }
    expect(steps).toHaveLength(1)
  })

  it('with an estimator on a queueing link: within 1 ms of true time after 10 minutes, monotonic throughout', () => {
    const queueing = exponentialDelay(0, 25_000)
    const sim = createSimulation({ seed: 7, forward: queueing, reverse: queueing, offsetUs: 10e6, skewPpm: 50 })
    const clock = new SlewingClock({ now: () => sim.localAt(sim.nowUs), target: (at) => sim.estimator.offsetUs(at) })
    let previous = -Infinity
    const end = sim.nowUs + 600e6
    while (sim.nowUs < end) {
      sim.runUntil(sim.nowUs + 100_000)
      const value = clock.read()
      if (clock.synced) {
        expect(value).toBeGreaterThanOrEqual(previous)
        previous = value
      }
    }
    expect(Math.abs(clock.read() - sim.nowUs)).toBeLessThan(1_000)
    expect(clock.stepCount).toBe(1)
  })

  it('rejects invalid options', () => {
    expect(() => new SlewingClock({ now: () => 0, maxSlewPpm: -1 })).toThrow(RangeError)
    expect(() => new SlewingClock({ now: () => 0, stepThresholdUs: Number.NaN })).toThrow(RangeError)
  })
})
