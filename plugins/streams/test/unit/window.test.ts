/**
 * Receive-window auto-tuning (src/window.ts), driven with explicit times; then through a mux with
 * a stubbed clock: a fast reader's grants grow, a starving reader grows the window at once, a
 * slow reader's shrink back, and the connection window follows its streams.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EchoError, type Codec, type EchoKernel, type Frame, type Session } from '@echostream/kernel'
import { FRAME_BOOKKEEPING, GROW_RTTS, ReceiveWindow, RoundTrip, SHRINK_RTTS } from '../../src/window.js'
import { StreamMux, type StreamsContext } from '../../src/mux.js'
import { StreamFrames } from '../../src/frames.js'
import type { StreamReader } from '../../src/reader.js'
import type { StreamsOptions } from '../../src/options.js'

const KiB = 1024
const MiB = 1024 * KiB

function rtt(ms: number): RoundTrip {
  const r = new RoundTrip()
  r.sample(ms)
  return r
}

describe('ReceiveWindow', () => {
  it('does nothing without a round-trip sample, or before half the window was read', () => {
    const w = new ReceiveWindow(256 * KiB, 8 * MiB, new RoundTrip(), 0)
    expect(w.update(200 * KiB, 0.001)).toBe(256 * KiB) // read in 1 µs, but no RTT known
    const timed = new ReceiveWindow(256 * KiB, 8 * MiB, rtt(1), 0)
    expect(timed.update(100 * KiB, 0.001)).toBe(256 * KiB) // under half the window read
  })

  it(`doubles, up to its cap, while the window holds fewer than ${GROW_RTTS} round trips of reading`, () => {
    const w = new ReceiveWindow(256 * KiB, 1 * MiB, rtt(1), 0)
    // 1 GB/s with a 1 ms round trip: a BDP of ~1 MB, so 256 KiB is far too small.
    let consumed = 0
    let now = 0
    const sizes: number[] = []
    for (let i = 0; i < 6; i++) {
      const half = w.size / 2
      consumed += half
      now += half / 1e6 // ms at 1 GB/s
      sizes.push(w.update(consumed, now))
    }
    expect(sizes).toEqual([512 * KiB, 1 * MiB, 1 * MiB, 1 * MiB, 1 * MiB, 1 * MiB])
  })

  it(`halves, down to the initial window, while it holds more than ${SHRINK_RTTS} round trips of reading`, () => {
    const w = new ReceiveWindow(256 * KiB, 8 * MiB, rtt(1), 0)
    w.grow()
    w.grow()
    w.grow()
    expect(w.size).toBe(2 * MiB)
    // 10 MB/s with a 1 ms round trip: a BDP of 10 KB.
    let consumed = 0
    let now = 0
    const sizes: number[] = []
    for (let i = 0; i < 5; i++) {
      consumed += w.size / 2
      now += w.size / 2 / 1e4
      sizes.push(w.update(consumed, now))
    }
    expect(sizes).toEqual([1 * MiB, 512 * KiB, 256 * KiB, 256 * KiB, 256 * KiB])
  })

  it('keeps its size in between: a halved window still holds more than the growth threshold, so a steady rate never makes it oscillate', () => {
    const w = new ReceiveWindow(256 * KiB, 8 * MiB, rtt(1), 0)
    w.grow() // 512 KiB
    // 64 MB/s, 1 ms: 512 KiB holds ~8 round trips of reading, between 4 and 16.
    let consumed = 0
    let now = 0
    for (let i = 0; i < 10; i++) {
      consumed += 256 * KiB
      now += (256 * KiB) / 64e3
      expect(w.update(consumed, now)).toBe(512 * KiB)
    }
  })

  it('times credit round trips from a grant to the first data beyond the old limit, when the sender waited for it; smoothed as SRTT', () => {
    const shared = new RoundTrip()
    const w = new ReceiveWindow(256 * KiB, 8 * MiB, shared, 0)
    // The sender had nothing waiting: no sample.
    w.granted(128 * KiB, 5)
    w.crossed(9)
    expect(shared.ms).toBe(0)
    w.granted(256 * KiB, 10)
    w.granted(384 * KiB, 11) // one measurement at a time: ignored
    w.blockedAt(256 * KiB) // a report crossing our grant: the sender waited at 256 KiB
    expect(w.crosses(256 * KiB)).toBe(false)
    expect(w.crosses(256 * KiB + 1)).toBe(true)
    w.crossed(12)
    expect(shared.ms).toBe(2)
    w.blockedAt(384 * KiB) // a report that came before our grant from that limit
    w.granted(384 * KiB, 20)
    w.crossed(30) // a 10 ms sample moves the estimate by an eighth
    expect(shared.ms).toBe(3)
    shared.sample(1e9)
    expect(shared.ms).toBeLessThan(300) // clamped: a sender with nothing to send says nothing about the path
  })

  it('atLeast raises within the cap only', () => {
    const w = new ReceiveWindow(1 * MiB, 4 * MiB, new RoundTrip(), 0)
    w.atLeast(512 * KiB)
    expect(w.size).toBe(1 * MiB)
    w.atLeast(3 * MiB)
    expect(w.size).toBe(3 * MiB)
    w.atLeast(16 * MiB)
    expect(w.size).toBe(4 * MiB)
  })
})

describe('auto-tuning through the mux', () => {
  const CHUNK = 64 * KiB
  let clock = 0
  afterEach(() => vi.restoreAllMocks())

  function setup(options: Partial<StreamsOptions> = {}) {
    clock = 0
    vi.spyOn(performance, 'now').mockImplementation(() => clock)
    const sent: Frame[] = []
    const readers: StreamReader<unknown>[] = []
    const session = { id: 's1', state: 'open', handshake: {}, bufferedAmount: 0, whenWritable: () => Promise.resolve(), send: (f: Frame) => void sent.push(f) } as unknown as Session
    const codec: Codec = { name: 'none', encode: () => new Uint8Array(0), decode: () => ({ ok: false, error: new EchoError('E_CODEC', 'unused') }) }
    const kernel = { role: 'server', codec, hooks: { authorize: { taps: [] } } } as unknown as EchoKernel
    const ctx: StreamsContext = {
      kernel,
      options: { streamWindow: 256 * KiB, connectionWindow: 1 * MiB, maxStreamWindow: 4 * MiB, maxConnectionWindow: 8 * MiB, maxStreams: 10, writeHighWaterMark: 64 * KiB, openTimeoutMs: 1000, maxNameLength: 64, ...options },
      handlers: new Map([['s', (reader: StreamReader<unknown>) => void readers.push(reader)]]),
      logger: { info() {}, warn() {}, error() {} },
    }
    const mux = new StreamMux(ctx, session)
    mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    return { mux, reader: readers[0]!, sent }
  }

  interface Path {
    /** One-way delay of data, reports and grants, ms. */
    oneWayMs: number
    /** Time the application takes per chunk, ms. */
    readMs: number
    /** An application-limited sender writes one chunk per this many ms; by default as fast as credit allows. */
    writeEveryMs?: number
    durationMs: number
  }

  /**
   * A discrete-event run: the sender writes 64 KiB chunks while its credit allows (one
   * `stream.blocked` per limit), each arriving `oneWayMs` later; every grant the mux sends reaches
   * the sender `oneWayMs` later; the reader reads a chunk whenever one is unread and it is idle.
   * Returns the largest `maxOffset - consumedOffset` seen (the most unread data the grants allowed).
   */
  function run(h: ReturnType<typeof setup>, path: Path): { maxAllowed: number; chunks: number } {
    const events: Array<{ at: number; fn: () => void }> = []
    const at = (time: number, fn: () => void) => {
      let i = events.length
      while (i > 0 && events[i - 1]!.at > time) i--
      events.splice(i, 0, { at: time, fn })
    }
    const end = clock + path.durationMs
    const sender = { credit: h.reader.maxOffset, sent: h.reader.receivedOffset, reported: -1, seq: h.reader.stats().framesReceived, nextWrite: clock }
    let creditsSeen = h.sent.length
    let readerFreeAt = clock
    let maxAllowed = 0
    let chunks = 0
    const deliverGrants = () => {
      for (; creditsSeen < h.sent.length; creditsSeen++) {
        const frame = h.sent[creditsSeen]!
        if (frame.kind !== StreamFrames.credit) continue
        const offset = frame.payload as number
        at(clock + path.oneWayMs, () => {
          sender.credit = Math.max(sender.credit, offset)
          send()
        })
      }
    }
    const send = () => {
      while (sender.sent + CHUNK <= sender.credit && clock < end) {
        if (path.writeEveryMs !== undefined) {
          if (sender.nextWrite > clock) return at(sender.nextWrite, send)
          sender.nextWrite = clock + path.writeEveryMs
        }
        sender.sent += CHUNK
        const seq = sender.seq++
        at(clock + path.oneWayMs, () => {
          h.mux.onData({ kind: StreamFrames.data, id: 1, payload: [seq, 0, new Uint8Array(CHUNK)] }, CHUNK)
          read()
        })
      }
      if (sender.sent + CHUNK > sender.credit && sender.reported !== sender.credit) {
        const limit = (sender.reported = sender.credit)
        at(clock + path.oneWayMs, () => {
          h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: limit })
          deliverGrants()
        })
      }
    }
    const read = () => {
      if (clock < readerFreeAt || h.reader.stats().unreadFrames === 0) return
      void h.reader.read()
      chunks++
      maxAllowed = Math.max(maxAllowed, h.reader.maxOffset - h.reader.consumedOffset)
      deliverGrants()
      readerFreeAt = clock + path.readMs
      at(readerFreeAt, read)
    }
    send()
    while (events.length > 0) {
      const event = events.shift()!
      clock = event.at
      event.fn()
    }
    return { maxAllowed, chunks }
  }

  it('a fast reader on a 2 ms round trip: the window grows toward the bandwidth-delay product, within maxStreamWindow; the connection follows', () => {
    const h = setup()
    // 64 KiB per 0.06 ms ≈ 1 GB/s with a 2 ms round trip: a BDP of ~2 MB.
    const { chunks } = run(h, { oneWayMs: 1, readMs: 0.06, durationMs: 150 })
    expect(h.mux.rtt.ms).toBeGreaterThan(1.99)
    expect(h.mux.rtt.ms).toBeLessThan(3)
    expect(h.reader.window).toBe(4 * MiB) // ≥ 4 round trips at 1 GB/s is 8 MB: capped at maxStreamWindow
    expect(h.mux.stats().receive.window).toBe(8 * MiB) // twice the stream's, within maxConnectionWindow
    // With the initial 256 KiB it would have moved 256 KiB per 2 ms round trip: 19 MiB in 150 ms.
    expect(chunks * CHUNK).toBeGreaterThan(60 * MiB)
  })

  it('a fast reader on a 0.2 ms round trip stops growing at a few round trips of reading, below the cap', () => {
    const h = setup()
    run(h, { oneWayMs: 0.1, readMs: 0.06, durationMs: 150 })
    // ~1 GB/s × 0.2 ms ≈ 220 KB: between 4 and 16 round trips of reading is 0.9–3.5 MB.
    expect(h.reader.window).toBeGreaterThanOrEqual(512 * KiB)
    expect(h.reader.window).toBeLessThanOrEqual(2 * MiB)
  })

  it('an application-limited sender (no blocked reports) gives no round-trip samples: the window stays at streamWindow', () => {
    const h = setup()
    run(h, { oneWayMs: 1, readMs: 0, writeEveryMs: 10, durationMs: 2000 })
    expect(h.mux.rtt.ms).toBe(0)
    expect(h.reader.window).toBe(256 * KiB)
  })

  it('a sender blocked at the limit while everything was read: the window doubles at once', async () => {
    const h = setup()
    // 40 KiB read: under a quarter window, so no grant yet; the sender's next write (over 216 KiB) does not fit.
    h.mux.onData({ kind: StreamFrames.data, id: 1, payload: [0, 0, new Uint8Array(40 * KiB)] }, 40 * KiB)
    await h.reader.read()
    expect(h.sent.filter((f) => f.kind === StreamFrames.credit)).toEqual([])
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 256 * KiB })
    expect(h.reader.window).toBe(512 * KiB)
    const credit = Math.floor((512 * KiB * 40 * KiB) / (40 * KiB + FRAME_BOOKKEEPING))
    expect(h.sent.filter((f) => f.kind === StreamFrames.credit).map((f) => f.payload)).toEqual([40 * KiB + credit])
  })

  it('a reader that is behind when the sender blocks does not grow the window', () => {
    const h = setup()
    for (let seq = 0; seq < 4; seq++) h.mux.onData({ kind: StreamFrames.data, id: 1, payload: [seq, 0, new Uint8Array(CHUNK)] }, CHUNK)
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 256 * KiB })
    expect(h.reader.window).toBe(256 * KiB)
  })

  it('a reader that turns slow: the window shrinks back to streamWindow, and grants never allow more unread data than the cap', () => {
    const h = setup()
    const fast = run(h, { oneWayMs: 1, readMs: 0.06, durationMs: 150 })
    expect(h.reader.window).toBe(4 * MiB)
    // Now 64 KiB every 10 ms (6.5 MB/s) from a sender that is always blocked: a BDP of ~13 KB.
    const slow = run(h, { oneWayMs: 1, readMs: 10, durationMs: 4000 })
    expect(h.reader.window).toBe(256 * KiB)
    expect(Math.max(fast.maxAllowed, slow.maxAllowed)).toBeLessThanOrEqual(4 * MiB)
    expect(h.reader.maxOffset - h.reader.consumedOffset).toBeLessThanOrEqual(256 * KiB)
  })
})
