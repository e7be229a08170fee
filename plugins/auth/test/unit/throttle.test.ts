import { describe, expect, it } from 'vitest'
import { FailureThrottle } from '../../src/throttle.js'

const options = { baseDelayMs: 100, maxDelayMs: 500, maxFailures: 5, windowMs: 10_000, banMs: 60_000, maxTracked: 3 }

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t }
  return c
}

describe('FailureThrottle', () => {
  it('doubles the delay per failure, capped at maxDelayMs', () => {
    const c = clock()
    const t = new FailureThrottle(options, c.now)
    expect([1, 2, 3, 4].map(() => t.fail('a').delayMs)).toEqual([100, 200, 400, 500])
  })

  it('bans at maxFailures, refuses for banMs, then forgets the address', () => {
    const c = clock()
    const t = new FailureThrottle(options, c.now)
    for (let i = 0; i < 4; i++) expect(t.fail('a').bannedForMs).toBe(0)
    const fifth = t.fail('a')
    expect(fifth).toEqual({ failures: 5, delayMs: 0, bannedForMs: 60_000 })
    expect(t.bannedFor('a')).toBe(60_000)
    c.t += 59_999
    expect(t.bannedFor('a')).toBe(1)
    c.t += 1
    expect(t.bannedFor('a')).toBe(0)
    expect(t.fail('a')).toEqual({ failures: 1, delayMs: 100, bannedForMs: 0 })
  })

  it('keeps addresses apart', () => {
    const t = new FailureThrottle(options, clock().now)
    for (let i = 0; i < 5; i++) t.fail('a')
    expect(t.bannedFor('a')).toBeGreaterThan(0)
    expect(t.bannedFor('b')).toBe(0)
    expect(t.fail('b').failures).toBe(1)
  })

  it('forgets failures after a quiet windowMs', () => {
    const c = clock()
    const t = new FailureThrottle(options, c.now)
    t.fail('a')
    c.t += 9_999
    expect(t.fail('a').failures).toBe(2)
    c.t += 10_000
    expect(t.fail('a').failures).toBe(1)
  })

  it('remembers at most maxTracked addresses, dropping the least recently failing', () => {
    const c = clock()
    const t = new FailureThrottle(options, c.now)
    for (const key of ['a', 'b', 'c']) t.fail(key)
    t.fail('a') // a is now the most recent
    t.fail('d')
    expect(t.size).toBe(3)
    expect(t.fail('b').failures).toBe(1) // b was dropped
    expect(t.fail('a').failures).toBe(3)
    for (let i = 0; i < 10_000; i++) t.fail(`x${i}`)
    expect(t.size).toBe(3)
  })

  it('drops expired entries as new failures arrive', () => {
    const c = clock()
    const t = new FailureThrottle({ ...options, maxTracked: 100 }, c.now)
    for (let i = 0; i < 50; i++) t.fail(`x${i}`)
    c.t += 10_000
    t.fail('fresh')
    expect(t.size).toBe(1)
  })

  it('with banMs 0 the count simply starts again', () => {
    const t = new FailureThrottle({ ...options, banMs: 0 }, clock().now)
    for (let i = 0; i < 5; i++) t.fail('a')
    expect(t.bannedFor('a')).toBe(0)
    expect(t.fail('a').failures).toBe(1)
  })

  it('reset forgets one or all addresses', () => {
    const t = new FailureThrottle(options, clock().now)
    for (let i = 0; i < 5; i++) t.fail('a')
    t.fail('b')
    t.reset('a')
    expect(t.bannedFor('a')).toBe(0)
    expect(t.size).toBe(1)
    t.reset()
    expect(t.size).toBe(0)
  })
})
