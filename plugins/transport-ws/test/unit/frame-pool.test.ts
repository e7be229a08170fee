/**
 * The client's frame buffer pool (frame-pool.ts): which sizes it serves, reuse of a given-back
 * buffer, its bound on free bytes, and that an idle pool empties itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { clearFramePool, framePoolStats, giveFrameBuffer, POOLED_BYTES, takeFrameBuffer } from '../../src/frame-pool.js'

const drain = clearFramePool

describe('transport-ws frame pool', () => {
  afterEach(() => vi.useRealTimers())

  it('serves frames from POOLED_BYTES up to 2 MiB, nothing smaller or larger', () => {
    expect(takeFrameBuffer(POOLED_BYTES - 1)).toBeUndefined()
    expect(takeFrameBuffer((1 << 21) + 1)).toBeUndefined()
    const buffer = takeFrameBuffer(65_570)!
    expect(buffer.length).toBeGreaterThanOrEqual(65_570)
    expect(buffer.length % 1024).toBe(0)
  })

  it('hands a given-back buffer out again for a frame it fits, but not for one less than half its size', () => {
    drain()
    const a = takeFrameBuffer(65_570)!
    giveFrameBuffer(a)
    expect(takeFrameBuffer(20_000)).not.toBe(a) // a 66 KiB buffer is not held for a 20 KB frame
    expect(takeFrameBuffer(65_580)).toBe(a) // a chunk whose envelope grew by a few bytes still fits
    expect(framePoolStats().buffers).toBe(0)
  })

  it('keeps at most 1 MiB of free buffers', () => {
    drain()
    const taken = Array.from({ length: 40 }, () => takeFrameBuffer(65_570)!)
    for (const buffer of taken) giveFrameBuffer(buffer)
    const { buffers, bytes } = framePoolStats()
    expect(bytes).toBeLessThanOrEqual(1 << 20)
    expect(buffers).toBe(Math.floor((1 << 20) / taken[0]!.length))
  })

  it('empties itself after a second without a take, not while buffers are taken', () => {
    vi.useFakeTimers()
    drain()
    const a = takeFrameBuffer(65_570)!
    const b = takeFrameBuffer(65_570)!
    giveFrameBuffer(a)
    vi.advanceTimersByTime(600)
    expect(takeFrameBuffer(65_570)).toBe(a) // in use: the sweep that comes finds a take since it was armed
    giveFrameBuffer(a)
    giveFrameBuffer(b)
    vi.advanceTimersByTime(1000)
    expect(framePoolStats().buffers).toBe(2)
    vi.advanceTimersByTime(1000)
    expect(framePoolStats()).toEqual({ buffers: 0, bytes: 0 })
  })
})
