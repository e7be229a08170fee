import { describe, expect, it } from 'vitest'
import { JitterBuffer, playout } from '../../src/jitter/index.js'
import type { JitterEvent } from '../../src/jitter/index.js'
import { MS, VirtualClock } from './jitter-sim.js'

/** A virtual sleep: jumps the clock by the requested time, unless woken first. */
function virtualSleep(clock: VirtualClock, log: number[]) {
  return async (us: number, signal: AbortSignal): Promise<void> => {
    await Promise.resolve()
    if (signal.aborted) return
    log.push(us)
    clock.t += us
  }
}

describe('playout() async iterator', () => {
  it('sleeps exactly until each frame is due and yields in seq order with gaps', async () => {
    const clock = new VirtualClock()
    const jb = new JitterBuffer<number>({ now: clock.now, adaptive: false, initialDelayMs: 40 })
    for (const seq of [2, 0, 3, 5]) jb.push({ seq, wallTime: seq * 20 * MS, data: seq })
    const sleeps: number[] = []
    const seen: Array<{ at: number; event: JitterEvent<number> }> = []
    for await (const event of playout(jb, { sleep: virtualSleep(clock, sleeps) })) {
      seen.push({ at: clock.t, event })
      if (event.kind === 'frame' && event.frame.seq === 5) break
    }
    const labels = seen.map(({ event }) => (event.kind === 'frame' ? `f${event.frame.seq}@${event.playoutAt / MS}` : `gap${event.gap.seq}x${event.gap.count}`))
    expect(labels).toEqual(['f0@40', 'gap1x1', 'f2@80', 'f3@100', 'gap4x1', 'f5@140'])
    for (const { at, event } of seen) if (event.kind === 'frame') expect(at).toBe(event.playoutAt)
    expect(sleeps).toEqual([40, 40, 20, 40].map((ms) => ms * MS))
  })

  it('waits on an empty buffer, wakes on push, and ends on abort', async () => {
    const clock = new VirtualClock()
    const jb = new JitterBuffer<number>({ now: clock.now, adaptive: false, initialDelayMs: 30 })
    const controller = new AbortController()
    const it = playout(jb, { sleep: virtualSleep(clock, []), signal: controller.signal })[Symbol.asyncIterator]()
    const first = it.next()
    await new Promise((resolve) => setImmediate(resolve)) // the iterator is now parked on the empty buffer
    jb.push({ seq: 7, wallTime: 0, data: 7 })
    const result = await first
    expect(result.done).toBe(false)
    expect(result.value).toMatchObject({ kind: 'frame', frame: { seq: 7 } })
    expect(clock.t).toBe(30 * MS)
    const second = it.next()
    controller.abort()
    expect(await second).toEqual({ done: true, value: undefined })
  })

  it('runs on real timers without releasing a frame early', async () => {
    const now = (): number => performance.now() * 1000
    const jb = new JitterBuffer<number>({ now, adaptive: false, initialDelayMs: 0 })
    const start = now()
    for (const seq of [1, 0, 2]) jb.push({ seq, wallTime: start + (seq + 1) * 10 * MS, data: seq })
    const got: number[] = []
    for await (const event of playout(jb)) {
      if (event.kind !== 'frame') continue
      expect(now()).toBeGreaterThanOrEqual(event.playoutAt)
      got.push(event.frame.seq)
      if (got.length === 3) break
    }
    expect(got).toEqual([0, 1, 2])
  })
})
