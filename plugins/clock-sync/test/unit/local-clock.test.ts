import { describe, expect, it } from 'vitest'
import { monotonicMicros } from '@echostream/kernel'
import { createLocalClock } from '../../src/local-clock.js'

describe('createLocalClock', () => {
  it('defaults to a monotonic microsecond clock on the epoch scale', () => {
    const before = Date.now() * 1000
    const clock = createLocalClock()
    const first = clock.now()
    const after = Date.now() * 1000
    expect(first).toBeGreaterThanOrEqual(before - 1_000)
    expect(first).toBeLessThanOrEqual(after + 1_000)
    let previous = first
    for (let i = 0; i < 10_000; i++) {
      const value = clock.now()
      expect(value).toBeGreaterThanOrEqual(previous)
      previous = value
    }
  })

  it('does not follow Date.now() after the anchor (wall-clock steps are invisible)', () => {
    const realNow = Date.now
    const clock = createLocalClock()
    try {
      Date.now = () => realNow() + 3_600_000
      expect(Math.abs(clock.now() - realNow() * 1000)).toBeLessThan(1e6)
    } finally {
      Date.now = realNow
    }
  })

  it('shifts readings by offsetMs, with an injected source', () => {
    let t = 5_000_000
    const clock = createLocalClock({ now: () => t, offsetMs: -10_000 })
    expect(clock.now()).toBe(5_000_000 - 10_000_000)
    t += 123
    const detached = clock.now
    expect(detached()).toBe(5_000_123 - 10_000_000)
  })

  it('shifts the platform clock by offsetMs', () => {
    const plain = createLocalClock()
    const ahead = createLocalClock({ offsetMs: 10_000 })
    expect(ahead.now() - plain.now()).toBeGreaterThan(10e6 - 50_000)
    expect(ahead.now() - plain.now()).toBeLessThan(10e6 + 50_000)
  })

  it("reads the kernel's monotonicMicros(), the clock transports stamp arrivals with", () => {
    const clock = createLocalClock()
    const before = monotonicMicros()
    const reading = clock.now()
    const after = monotonicMicros()
    expect(reading).toBeGreaterThanOrEqual(before)
    expect(reading).toBeLessThanOrEqual(after)
  })

  it('rejects a non-finite offset', () => {
    expect(() => createLocalClock({ offsetMs: Number.NaN })).toThrow(RangeError)
  })
})
