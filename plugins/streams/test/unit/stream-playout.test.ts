/** `stream.playout()` over a fake reader: every buffered frame is yielded before the end, gaps and errors surface, options are checked. */
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/kernel'
import { StreamPlayout } from '../../src/stream-playout.js'
import { localNow } from '../../src/clock.js'
import type { StreamReader } from '../../src/reader.js'
import type { StreamFrame } from '../../src/types.js'

/**
 * Just enough of a StreamReader: frames handed out by read(), then the end or an error. A frame's
 * wallTime is µs after the first read (so a busy machine cannot make them late before they arrive).
 */
function fakeReader(frames: StreamFrame<number>[], outcome: { error?: EchoError } = {}) {
  let cancelled: string | undefined
  let base: number | undefined
  const reader = {
    name: 'fake',
    async read() {
      await new Promise((resolve) => setImmediate(resolve))
      base ??= localNow()
      const next = frames.shift()
      if (next) return { ...next, wallTime: base + next.wallTime }
      if (outcome.error) throw outcome.error
      return undefined
    },
    cancel(code: string) {
      cancelled ??= code
    },
  }
  return { reader: reader as unknown as StreamReader<number>, cancelled: () => cancelled }
}

describe('stream.playout()', () => {
  it('yields every frame of a batch that falls due at once, then ends with the stream', async () => {
    const frames = Array.from({ length: 6 }, (_, seq) => ({ seq, wallTime: 0, data: seq }))
    const { reader, cancelled } = fakeReader(frames)
    const player = new StreamPlayout(reader, {}, { delayMs: 200, adaptive: false })
    const seqs: number[] = []
    for await (const event of player) if (event.kind === 'frame') seqs.push(event.frame.seq)
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5])
    expect(player.metrics().delivered).toBe(6)
    expect(cancelled()).toBe('E_CANCELLED') // a no-op on a finished stream, but always attempted
  })

  it('reports a missing seq as a gap', async () => {
    const frames = [0, 1, 3].map((seq) => ({ seq, wallTime: seq * 1000, data: seq }))
    const labels: string[] = []
    for await (const event of new StreamPlayout(fakeReader(frames).reader, {}, { delayMs: 200, adaptive: false })) {
      labels.push(event.kind === 'frame' ? `f${event.frame.seq}` : `gap${event.gap.seq}x${event.gap.count}`)
    }
    expect(labels).toEqual(['f0', 'f1', 'gap2x1', 'f3'])
  })

  it("throws the stream's error (an aborted stream's buffered frames are dropped, as its unread data is)", async () => {
    const { reader } = fakeReader([{ seq: 0, wallTime: 0, data: 0 }], { error: new EchoError('E_CLOSED', 'gone') })
    const run = async () => {
      for await (const event of new StreamPlayout(reader, {}, { delayMs: 20, adaptive: false })) void event
    }
    await expect(run()).rejects.toMatchObject({ code: 'E_CLOSED', message: 'gone' })
  })

  it('maps the jitter buffer RangeError to E_CONFIG', () => {
    const { reader } = fakeReader([])
    expect(() => new StreamPlayout(reader, {}, { delayMs: -1 })).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/initialDelayMs/) }))
  })
})
