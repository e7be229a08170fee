import { describe, expect, it } from 'vitest'
import { Outbox } from '../../src/outbox.js'

const bytes = (n: number, fill = 0) => new Uint8Array(n).fill(fill)

describe('Outbox', () => {
  it('keeps what was sent until acknowledged, and releases it at once', () => {
    const box = new Outbox({ maxFrames: 100, maxBytes: 10_000 })
    for (let i = 1; i <= 5; i++) box.record(bytes(100, i))
    expect(box.size).toBe(5)
    expect(box.bytes).toBe(500)
    expect(box.after(3).map((b) => b[0])).toEqual([4, 5])
    box.acknowledge(3)
    expect(box.size).toBe(2)
    expect(box.bytes).toBe(200)
    expect(box.after(0).map((b) => b[0])).toEqual([4, 5])
    expect(box.canReplayAfter(3)).toBe(true)
    expect(box.canReplayAfter(2)).toBe(false)
    box.acknowledge(5)
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
    expect(box.canReplayAfter(5)).toBe(true)
    expect(box.after(5)).toEqual([])
  })

  it('never holds more than maxBytes of real encoded bytes, even for one message larger than that', () => {
    const box = new Outbox({ maxFrames: 1000, maxBytes: 1_000_000 })
    for (let i = 0; i < 50; i++) {
      box.record(bytes(500_000))
      expect(box.bytes).toBeLessThanOrEqual(1_000_000)
    }
    expect(box.size).toBe(2)
    expect(box.evicted).toBe(48)
    expect(box.evictedThrough).toBe(48)
    // The peer received only 40 of them: frames 41…48 are gone, so a resume cannot be exact.
    expect(box.canReplayAfter(40)).toBe(false)
    expect(box.canReplayAfter(48)).toBe(true)
    box.record(bytes(1_000_001))
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
    expect(box.canReplayAfter(50)).toBe(false)
  })

  it('never holds more than maxFrames', () => {
    const box = new Outbox({ maxFrames: 10, maxBytes: 1_000_000 })
    for (let i = 1; i <= 1000; i++) box.record(bytes(1, i % 256))
    expect(box.size).toBe(10)
    expect(box.after(990).length).toBe(10)
    expect(box.fits(1)).toBe(false)
  })

  it('refuses counts it cannot answer for', () => {
    const box = new Outbox({ maxFrames: 10, maxBytes: 1000 })
    box.record(bytes(1))
    expect(box.canReplayAfter(2)).toBe(false)
    expect(box.canReplayAfter(-1)).toBe(false)
    expect(box.canReplayAfter(0.5)).toBe(false)
    expect(box.canReplayAfter(0)).toBe(true)
    box.acknowledge(99)
    expect(box.acked).toBe(1)
  })
})
