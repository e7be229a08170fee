/**
 * Flow control frame by frame: one session's StreamMux driven with hand-made frames and a fake
 * session that records what it sends. Pure and synchronous where the mux is; the network proof
 * is test/integration/streams.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type Codec, type EchoKernel, type Frame, type Session } from '@echostream/kernel'
import { StreamMux, type StreamsContext } from '../../src/mux.js'
import { StreamFrames } from '../../src/frames.js'
import { dataSize, FRAME_OVERHEAD } from '../../src/byte-size.js'
import { FRAME_BOOKKEEPING } from '../../src/window.js'
import type { StreamHandler } from '../../src/types.js'
import type { StreamReader } from '../../src/reader.js'
import type { StreamsOptions } from '../../src/options.js'

const KiB = 1024
/** What the fake session's send adds to a data frame's data (the msgpack framing is 20–47 bytes). */
const FRAMING = 20
/** The credit a data frame of `bytes` is charged (what send returned). */
const cost = (bytes: number) => bytes + FRAMING
/** What the sender needs of credit to send one: its upper bound. */
const bound = (bytes: number) => bytes + FRAME_OVERHEAD
/** The credit a receiver's grant gives for `window` once its frames carry `frame` bytes each (the rest is their bookkeeping). */
const creditFor = (window: number, frame: number) => Math.floor((window * frame) / (frame + FRAME_BOOKKEEPING))

/** A JSON "codec": enough to size structured values the same way on both ends. */
const codec: Codec = {
  name: 'json',
  encode: (frame) => new TextEncoder().encode(JSON.stringify(frame.payload ?? null)),
  decode: () => ({ ok: false, error: new EchoError('E_CODEC', 'unused') }),
}

interface Harness {
  mux: StreamMux
  sent: Frame[]
  readers: StreamReader<unknown>[]
  /** Frames of `kind` sent since the last call to `take`. */
  take(kind?: string): Frame[]
}

function harness(role: 'server' | 'client', options: Partial<StreamsOptions> = {}, handler?: StreamHandler, sessionOverrides: Record<string, unknown> = {}): Harness {
  const sent: Frame[] = []
  const readers: StreamReader<unknown>[] = []
  let cursor = 0
  const session = {
    id: 's1',
    state: 'open',
    handshake: { plugins: { streams: 1 } },
    bufferedAmount: 0,
    whenWritable: () => Promise.resolve(),
    peerMaxPayload: 1024 * KiB,
    writable: true,
    // Returns the encoded size, as the kernel's send does: a data frame's data plus FRAMING bytes.
    send: (frame: Frame) => {
      sent.push(frame)
      return frame.kind === StreamFrames.data ? dataSize((frame.payload as unknown[])[2], codec) + FRAMING : 16
    },
    ...sessionOverrides,
  } as unknown as Session
  const kernel = { role, codec, hooks: { authorize: { taps: [] } } } as unknown as EchoKernel
  const ctx: StreamsContext = {
    kernel,
    // Tuning off unless a test turns it on (max = initial): these tests count exact grants.
    options: {
      streamWindow: 64 * KiB,
      connectionWindow: 256 * KiB,
      maxStreams: 10,
      writeHighWaterMark: 64 * KiB,
      openTimeoutMs: 1000,
      maxNameLength: 64,
      ...options,
      maxStreamWindow: options.maxStreamWindow ?? options.streamWindow ?? 64 * KiB,
      maxConnectionWindow: options.maxConnectionWindow ?? options.connectionWindow ?? 256 * KiB,
    },
    handlers: new Map([['s', handler ?? ((reader) => void readers.push(reader))]]),
    logger: { info() {}, warn() {}, error() {} },
  }
  const mux = new StreamMux(ctx, session)
  return {
    mux,
    sent,
    readers,
    take(kind) {
      const out = sent.slice(cursor)
      cursor = sent.length
      return kind ? out.filter((f) => f.kind === kind) : out
    },
  }
}

const data = (id: number, seq: number, bytes: number): Frame => ({ kind: StreamFrames.data, id, payload: [seq, 0, new Uint8Array(bytes)] })
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('credit accounting', () => {
  it("bounds a write before sending by its data's size (binary bytes, UTF-8 bytes, encoded size) plus FRAME_OVERHEAD", () => {
    expect(dataSize(new Uint8Array(1000), codec)).toBe(1000)
    expect(dataSize('é'.repeat(100), codec)).toBe(200)
    expect(dataSize({ a: 'x'.repeat(100) }, codec)).toBe(JSON.stringify({ a: 'x'.repeat(100) }).length)
    expect(FRAME_OVERHEAD).toBeGreaterThanOrEqual(47) // the most msgpack framing a stream.data message adds
  })
})

describe('receiver', () => {
  it('accepts with the stream window, announces the connection window first, ids of the peer parity only', () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's', payload: { meta: { x: 1 } } })
    expect(h.take().map((f) => [f.kind, f.id, f.payload])).toEqual([
      [StreamFrames.connCredit, undefined, 256 * KiB],
      [StreamFrames.accept, 1, 64 * KiB],
    ])
    expect(h.readers[0]!.meta).toEqual({ x: 1 })
    expect(() => h.mux.onOpen({ kind: StreamFrames.open, id: 2, name: 's' })).toThrow(/parity/)
    expect(() => h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })).toThrow(/increase/)
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 'unknown' })
    expect(h.take()).toEqual([{ kind: StreamFrames.abort, id: 3, payload: { code: 'E_NO_HANDLER', message: expect.stringContaining("'unknown'") } }])
  })

  it('grants credit only after a quarter of the window is read, as an absolute offset, less the bookkeeping of the frames it will hold', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    for (let seq = 0; seq < 8; seq++) h.mux.onData(data(1, seq, 8 * KiB), 8 * KiB)
    const reader = h.readers[0]!
    expect(reader.stats()).toMatchObject({ unreadBytes: 64 * KiB, unreadFrames: 8 })
    const credit = creditFor(64 * KiB, 8 * KiB) // 8 KiB frames: each also takes FRAME_BOOKKEEPING bytes
    for (let i = 0; i < 2; i++) await reader.read()
    expect(h.take(StreamFrames.credit)).toEqual([]) // 16 KiB read: under a quarter of the credit past the limit
    await reader.read()
    expect(h.take(StreamFrames.credit)).toEqual([{ kind: StreamFrames.credit, id: 1, payload: 24 * KiB + credit }])
    expect(reader.stats()).toMatchObject({ consumedOffset: 24 * KiB, maxOffset: 24 * KiB + credit, unreadBytes: 40 * KiB })
  })

  it('tiny frames: grants leave room for their bookkeeping, so unread bytes plus FRAME_BOOKKEEPING per frame stay within the window', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    const reader = h.readers[0]!
    let seq = 0
    let maxMemory = 0
    for (let round = 0; round < 20; round++) {
      // The sender fills whatever credit it has with 30-byte messages; the reader then reads them all.
      while (reader.receivedOffset + 30 <= reader.maxOffset) h.mux.onData(data(1, seq++, 1), 30)
      const { unreadBytes, unreadFrames } = reader.stats()
      if (round > 0) maxMemory = Math.max(maxMemory, unreadBytes + unreadFrames * FRAME_BOOKKEEPING)
      while (reader.stats().unreadFrames > 0) await reader.read()
    }
    // The first window (granted before any frame was seen) is the only one in raw bytes.
    expect(maxMemory).toBeLessThanOrEqual(64 * KiB)
    expect(maxMemory).toBeGreaterThan(32 * KiB)
  })

  it('aborts a stream whose sender exceeds its credit with E_FLOW_CONTROL, keeping nothing', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 60 * KiB), 60 * KiB)
    h.mux.onData(data(1, 1, 5 * KiB), 5 * KiB)
    expect(h.take()).toEqual([{ kind: StreamFrames.abort, id: 1, payload: { code: 'E_FLOW_CONTROL', message: expect.stringMatching(/credit/) } }])
    await expect(h.readers[0]!.read()).rejects.toMatchObject({ code: 'E_FLOW_CONTROL' })
    // Its unread bytes went back to the connection; the other stream is untouched.
    expect(h.mux.stats().receive.unreadBytes).toBe(0)
    h.mux.onData(data(3, 0, 10 * KiB), 10 * KiB)
    expect((await h.readers[1]!.read())?.seq).toBe(0)
  })

  it('aborts with E_FLOW_CONTROL when the connection credit is exceeded, even within the stream credit', () => {
    const h = harness('server', { streamWindow: 64 * KiB, connectionWindow: 96 * KiB })
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 64 * KiB), 64 * KiB)
    h.mux.onData(data(3, 0, 40 * KiB), 40 * KiB)
    expect(h.take(StreamFrames.abort)).toEqual([{ kind: StreamFrames.abort, id: 3, payload: { code: 'E_FLOW_CONTROL', message: expect.stringMatching(/connection/) } }])
  })

  it('answers stream.blocked once the reader has read everything (a write larger than half the window)', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 20 * KiB), 20 * KiB) // the sender's next write is 48 KiB: 44 KiB of credit is not enough
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 64 * KiB })
    expect(h.take(StreamFrames.credit)).toEqual([]) // unread data: a read will come
    await h.readers[0]!.read()
    expect(h.take(StreamFrames.credit)).toEqual([{ kind: StreamFrames.credit, id: 1, payload: 20 * KiB + creditFor(64 * KiB, 20 * KiB) }])
    // A stale report (a newer grant crossed it) is ignored.
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 64 * KiB })
    expect(h.take()).toEqual([])
  })

  it('charges the size of the message that carried each frame, and never looks inside data it drops (a refused stream)', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    h.mux.onData({ kind: StreamFrames.data, id: 1, payload: [0, 0, { any: 'value' }] }, 123)
    expect(h.readers[0]!.stats()).toMatchObject({ receivedOffset: 123, unreadBytes: 123 })
    // Refused (no handler), then data for it carrying a cyclic value: counted by size, dropped, at once.
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 'nobody' })
    const cyclic: unknown[] = [1]
    cyclic.push(cyclic)
    h.mux.onData({ kind: StreamFrames.data, id: 3, payload: [0, 0, cyclic] }, 40)
    expect(h.mux.stats().receive).toMatchObject({ receivedOffset: 163, consumedOffset: 40 })
  })

  it('counts and drops data still in flight for a stream it cancelled; refuses data for streams never opened', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.readers[0]!.cancel('E_DONE')
    h.take()
    h.mux.onData(data(1, 0, 10 * KiB), 10 * KiB)
    expect(h.mux.stats().receive).toMatchObject({ receivedOffset: 10 * KiB, consumedOffset: 10 * KiB, unreadBytes: 0 })
    expect(() => h.mux.onData(data(5, 0, 1), 1)).toThrow(/never opened/)
    expect(() => h.mux.onData(data(2, 0, 1), 1)).toThrow(/never opened/)
  })
})

describe('sender', () => {
  async function opened(h: Harness, window = 64 * KiB, conn = 256 * KiB) {
    const pending = h.mux.open<Uint8Array>('s', undefined, {})
    const [open] = h.take()
    expect(open).toMatchObject({ kind: StreamFrames.open, id: 2, name: 's' })
    h.mux.onConnCredit({ kind: StreamFrames.connCredit, payload: conn })
    h.mux.onAccept({ kind: StreamFrames.accept, id: 2, payload: window })
    return pending
  }

  it('sends while credit covers its bound, charges what send encoded, waits, reports blocked once per limit, and takes the max of repeated or reordered credit', async () => {
    const h = harness('server')
    // Room for four 16 KiB writes: three charged, and the fourth's bound.
    const first = 3 * cost(16 * KiB) + bound(16 * KiB)
    const writer = await opened(h, first)
    const writes = [0, 1, 2, 3, 4].map((i) => writer.write(new Uint8Array(16 * KiB).fill(i)))
    await tick()
    expect(h.take(StreamFrames.data).map((f) => (f.payload as unknown[])[0])).toEqual([0, 1, 2, 3])
    expect(writer.stats()).toMatchObject({ sentOffset: 4 * cost(16 * KiB), queuedFrames: 1, queuedBytes: 16 * KiB, waitingFor: 'stream-credit' })
    expect(h.take()).toEqual([]) // the blocked report went out with the data
    expect(h.sent.filter((f) => f.kind === StreamFrames.blocked)).toEqual([{ kind: StreamFrames.blocked, id: 2, payload: first }])
    const second = 4 * cost(16 * KiB) + bound(16 * KiB)
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: second })
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: first + 10 }) // reordered: ignored
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: second }) // repeated: ignored
    await Promise.all(writes)
    expect(h.take(StreamFrames.data).map((f) => (f.payload as unknown[])[0])).toEqual([4])
    expect(writer.stats()).toMatchObject({ sentOffset: 5 * cost(16 * KiB), maxOffset: second, queuedFrames: 0, waitingFor: null })
    expect(h.mux.stats().send.sentOffset).toBe(5 * cost(16 * KiB))
  })

  it('refuses one write whose bound exceeds the window, or the peer maxPayload, with E_PAYLOAD_TOO_LARGE, saying what to change', async () => {
    const h = harness('server')
    const writer = await opened(h, 64 * KiB)
    const error = await writer.write(new Uint8Array(64 * KiB - FRAME_OVERHEAD + 1)).catch((e: EchoError) => e)
    expect(error).toMatchObject({ code: 'E_PAYLOAD_TOO_LARGE', message: expect.stringMatching(/stream window.*streamWindow/) })
    await writer.write(new Uint8Array(64 * KiB - FRAME_OVERHEAD))
    const small = harness('server', {}, undefined, { peerMaxPayload: 8 * KiB })
    const w2 = await opened(small, 64 * KiB)
    expect(await w2.write(new Uint8Array(8 * KiB)).catch((e: EchoError) => e)).toMatchObject({ code: 'E_PAYLOAD_TOO_LARGE', message: expect.stringMatching(/maxPayload/) })
  })

  it('a frame the kernel refuses to send aborts the stream with its error; nothing is charged', async () => {
    const h = harness('server', {}, undefined, {
      send(frame: Frame) {
        if (frame.kind === StreamFrames.data) throw new EchoError('E_CODEC', 'cannot encode that')
        h.sent.push(frame)
        return 16
      },
    })
    const writer = await opened(h, 64 * KiB)
    await expect(writer.write(new Uint8Array(10))).rejects.toMatchObject({ code: 'E_CODEC', message: expect.stringMatching(/cannot encode that/) })
    expect(writer.state).toBe('aborted')
    expect(writer.stats().sentOffset).toBe(0)
    expect(h.take(StreamFrames.abort)).toEqual([{ kind: StreamFrames.abort, id: 2, payload: { code: 'E_CODEC', message: expect.stringMatching(/cannot encode that/) } }])
  })

  it('a writer that never has to wait still lets its event loop run (incoming credit, pings) at least every MiB', async () => {
    const h = harness('server')
    const writer = await opened(h, 64 * 1024 * KiB, 64 * 1024 * KiB)
    let turns = 0
    let ticking = true
    const tick = () => {
      turns++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    for (let i = 0; i < 256; i++) await writer.write(new Uint8Array(16 * KiB)) // 4 MiB, never blocked
    ticking = false
    expect(h.take(StreamFrames.data)).toHaveLength(256)
    expect(turns).toBeGreaterThanOrEqual(3)
  })

  it('one stream out of credit does not hold up another; the connection credit bounds both', async () => {
    const h = harness('server')
    const a = await opened(h, 64 * KiB, 100 * KiB)
    const pendingB = h.mux.open<Uint8Array>('s')
    h.mux.onAccept({ kind: StreamFrames.accept, id: 4, payload: 64 * KiB })
    const b = await pendingB
    h.take()
    void a.write(new Uint8Array(64 * KiB - FRAME_OVERHEAD)) // its bound is the whole window
    void a.write(new Uint8Array(KiB)) // no stream credit left for this one
    const bDone = b.write(new Uint8Array(30 * KiB))
    await bDone
    expect(h.take(StreamFrames.data).map((f) => f.id)).toEqual([2, 4])
    void b.write(new Uint8Array(10 * KiB)) // beyond the connection's 100 KiB
    await tick()
    expect(b.stats().waitingFor).toBe('connection-credit')
    expect(h.take()).toEqual([{ kind: StreamFrames.connBlocked, payload: 100 * KiB }])
    h.mux.onConnCredit({ kind: StreamFrames.connCredit, payload: 200 * KiB })
    await tick()
    expect(h.take(StreamFrames.data).map((f) => f.id)).toEqual([4])
    expect(a.stats().waitingFor).toBe('stream-credit')
  })

  it("'drop-oldest' resolves at once and keeps the queue within its highWaterMark", async () => {
    const h = harness('server')
    const pending = h.mux.open<Uint8Array>('s', undefined, { policy: 'drop-oldest', highWaterMark: 4 * KiB })
    h.mux.onConnCredit({ kind: StreamFrames.connCredit, payload: 256 * KiB })
    h.mux.onAccept({ kind: StreamFrames.accept, id: 2, payload: 8 * KiB })
    const writer = await pending
    for (let i = 0; i < 20; i++) await writer.write(new Uint8Array(KiB))
    await tick()
    // 8 KiB of credit: seven 1 KiB frames (charged 1 KiB + framing each; the eighth's bound does not fit).
    // The queue keeps the newest 4 KiB of data; the other nine were dropped, oldest first.
    expect(writer.stats()).toMatchObject({ sentOffset: 7 * cost(KiB), queuedFrames: 4, queuedBytes: 4 * KiB, droppedFrames: 9, droppedBytes: 9 * KiB, nextSeq: 20 })
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: 64 * KiB })
    await tick()
    const seqs = h.take(StreamFrames.data).map((f) => (f.payload as number[])[0])
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 16, 17, 18, 19])
  })

  it('an open refused by the peer rejects with its code; a closed session fails everything with E_CLOSED', async () => {
    const h = harness('client')
    const refused = h.mux.open('s')
    h.mux.onAbort({ kind: StreamFrames.abort, id: 1, payload: { code: 'E_NO_HANDLER', message: 'no handler' } })
    await expect(refused).rejects.toMatchObject({ code: 'E_NO_HANDLER', message: 'no handler' })
    const pending = h.mux.open('s')
    h.mux.close(new EchoError('E_CLOSED', 'gone'))
    await expect(pending).rejects.toMatchObject({ code: 'E_CLOSED' })
    await expect(h.mux.open('s')).rejects.toMatchObject({ code: 'E_CLOSED' })
  })
})
