/**
 * Flow control frame by frame: one session's StreamMux driven with hand-made frames and a fake
 * session that records what it sends. Pure and synchronous where the mux is; the network proof
 * is test/integration/streams.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type Codec, type EchoKernel, type Frame, type Session } from '@echostream/kernel'
import { StreamMux, type StreamsContext } from '../../src/mux.js'
import { MIN_FRAME_CHARGE, StreamFrames } from '../../src/frames.js'
import { chargeOf, dataSize } from '../../src/byte-size.js'
import type { StreamHandler } from '../../src/types.js'
import type { StreamReader } from '../../src/reader.js'
import type { StreamsOptions } from '../../src/options.js'

const KiB = 1024

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

function harness(role: 'server' | 'client', options: Partial<StreamsOptions> = {}, handler?: StreamHandler): Harness {
  const sent: Frame[] = []
  const readers: StreamReader<unknown>[] = []
  let cursor = 0
  const session = {
    id: 's1',
    state: 'open',
    handshake: { plugins: { streams: 1 } },
    bufferedAmount: 0,
    whenWritable: () => Promise.resolve(),
    send: (frame: Frame) => void sent.push(frame),
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
  it('counts binary bytes, UTF-8 bytes, encoded size, and at least MIN_FRAME_CHARGE', () => {
    expect(chargeOf(dataSize(new Uint8Array(1000), codec))).toBe(1000)
    expect(chargeOf(dataSize('é'.repeat(100), codec))).toBe(200)
    expect(chargeOf(dataSize({ a: 'x'.repeat(100) }, codec))).toBe(JSON.stringify({ a: 'x'.repeat(100) }).length)
    expect(chargeOf(dataSize(new Uint8Array(0), codec))).toBe(MIN_FRAME_CHARGE)
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

  it('grants credit only after half the window is read, as an absolute offset', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    for (let seq = 0; seq < 4; seq++) h.mux.onData(data(1, seq, 16 * KiB))
    const reader = h.readers[0]!
    expect(reader.stats()).toMatchObject({ unreadBytes: 64 * KiB, unreadFrames: 4 })
    await reader.read()
    expect(h.take(StreamFrames.credit)).toEqual([]) // 16 KiB read: under half the window
    await reader.read()
    expect(h.take(StreamFrames.credit)).toEqual([{ kind: StreamFrames.credit, id: 1, payload: 96 * KiB }])
    expect(reader.stats()).toMatchObject({ consumedOffset: 32 * KiB, maxOffset: 96 * KiB, unreadBytes: 32 * KiB })
  })

  it('aborts a stream whose sender exceeds its credit with E_FLOW_CONTROL, keeping nothing', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 60 * KiB))
    h.mux.onData(data(1, 1, 5 * KiB))
    expect(h.take()).toEqual([{ kind: StreamFrames.abort, id: 1, payload: { code: 'E_FLOW_CONTROL', message: expect.stringMatching(/credit/) } }])
    await expect(h.readers[0]!.read()).rejects.toMatchObject({ code: 'E_FLOW_CONTROL' })
    // Its unread bytes went back to the connection; the other stream is untouched.
    expect(h.mux.stats().receive.unreadBytes).toBe(0)
    h.mux.onData(data(3, 0, 10 * KiB))
    expect((await h.readers[1]!.read())?.seq).toBe(0)
  })

  it('aborts with E_FLOW_CONTROL when the connection credit is exceeded, even within the stream credit', () => {
    const h = harness('server', { streamWindow: 64 * KiB, connectionWindow: 96 * KiB })
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.mux.onOpen({ kind: StreamFrames.open, id: 3, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 64 * KiB))
    h.mux.onData(data(3, 0, 40 * KiB))
    expect(h.take()).toEqual([{ kind: StreamFrames.abort, id: 3, payload: { code: 'E_FLOW_CONTROL', message: expect.stringMatching(/connection/) } }])
  })

  it('answers stream.blocked once the reader has read everything (a write larger than half the window)', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.take()
    h.mux.onData(data(1, 0, 20 * KiB)) // the sender's next write is 48 KiB: 44 KiB of credit is not enough
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 64 * KiB })
    expect(h.take(StreamFrames.credit)).toEqual([]) // unread data: a read will come
    await h.readers[0]!.read()
    expect(h.take(StreamFrames.credit)).toEqual([{ kind: StreamFrames.credit, id: 1, payload: 84 * KiB }])
    // A stale report (a newer grant crossed it) is ignored.
    h.mux.onBlocked({ kind: StreamFrames.blocked, id: 1, payload: 64 * KiB })
    expect(h.take()).toEqual([])
  })

  it('counts and drops data still in flight for a stream it cancelled; refuses data for streams never opened', async () => {
    const h = harness('server')
    h.mux.onOpen({ kind: StreamFrames.open, id: 1, name: 's' })
    h.readers[0]!.cancel('E_DONE')
    h.take()
    h.mux.onData(data(1, 0, 10 * KiB))
    expect(h.mux.stats().receive).toMatchObject({ receivedOffset: 10 * KiB, consumedOffset: 10 * KiB, unreadBytes: 0 })
    expect(() => h.mux.onData(data(5, 0, 1))).toThrow(/never opened/)
    expect(() => h.mux.onData(data(2, 0, 1))).toThrow(/never opened/)
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

  it('sends while credit lasts, waits, reports blocked once per limit, and takes the max of repeated or reordered credit', async () => {
    const h = harness('server')
    const writer = await opened(h)
    const writes = [0, 1, 2, 3, 4].map((i) => writer.write(new Uint8Array(16 * KiB).fill(i)))
    await tick()
    expect(h.take(StreamFrames.data).map((f) => (f.payload as unknown[])[0])).toEqual([0, 1, 2, 3])
    expect(writer.stats()).toMatchObject({ sentOffset: 64 * KiB, queuedFrames: 1, waitingFor: 'stream-credit' })
    expect(h.take()).toEqual([]) // the blocked report went out with the data
    expect(h.sent.filter((f) => f.kind === StreamFrames.blocked)).toEqual([{ kind: StreamFrames.blocked, id: 2, payload: 64 * KiB }])
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: 96 * KiB })
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: 80 * KiB }) // reordered: ignored
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: 96 * KiB }) // repeated: ignored
    await Promise.all(writes)
    expect(h.take(StreamFrames.data).map((f) => (f.payload as unknown[])[0])).toEqual([4])
    expect(writer.stats()).toMatchObject({ sentOffset: 80 * KiB, maxOffset: 96 * KiB, queuedFrames: 0, waitingFor: null })
  })

  it('refuses one write larger than the window with E_PAYLOAD_TOO_LARGE, saying what to change', async () => {
    const h = harness('server')
    const writer = await opened(h, 64 * KiB)
    const error = await writer.write(new Uint8Array(64 * KiB + 1)).catch((e: EchoError) => e)
    expect(error).toMatchObject({ code: 'E_PAYLOAD_TOO_LARGE', message: expect.stringMatching(/streamWindow.*|smaller chunks/) })
    await writer.write(new Uint8Array(64 * KiB))
  })

  it('one stream out of credit does not hold up another; the connection credit bounds both', async () => {
    const h = harness('server')
    const a = await opened(h, 64 * KiB, 100 * KiB)
    const pendingB = h.mux.open<Uint8Array>('s')
    h.mux.onAccept({ kind: StreamFrames.accept, id: 4, payload: 64 * KiB })
    const b = await pendingB
    h.take()
    void a.write(new Uint8Array(64 * KiB))
    void a.write(new Uint8Array(KiB)) // no stream credit left for this one
    const bDone = b.write(new Uint8Array(30 * KiB))
    await bDone
    expect(h.take(StreamFrames.data).map((f) => f.id)).toEqual([2, 4])
    void b.write(new Uint8Array(10 * KiB)) // 104 KiB > the connection's 100 KiB
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
    expect(writer.stats()).toMatchObject({ sentOffset: 8 * KiB, queuedBytes: 4 * KiB, droppedFrames: 8, droppedBytes: 8 * KiB, nextSeq: 20 })
    h.mux.onCredit({ kind: StreamFrames.credit, id: 2, payload: 64 * KiB })
    await tick()
    const seqs = h.take(StreamFrames.data).map((f) => (f.payload as number[])[0])
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19])
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
