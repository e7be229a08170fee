/**
 * @echostream/plugin-streams over real sockets (127.0.0.1, port 0): flow control under a 100 MB
 * push to a slow reader, end/abort/disconnect semantics, refusals, a peer that breaks its credit,
 * binary fidelity, the drop-oldest policy, the Node/Web adapters and jitter-buffered playout.
 * Bounds are loose on purpose: this must pass on two noisy cores.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { definePlugin, EchoError, ErrorCodes, type EchoKernel, type PluginDefinition, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import streams, { defineStream, FRAME_OVERHEAD, localNow, schema, STREAMS_WIRE_VERSION, type StreamFrame, type StreamReader, type StreamWriter, type StreamsOptions } from '@echostream/plugin-streams'
import { sleep, track, until } from '../helpers/fixtures.js'
import { rawClient, rejection } from '../helpers/wire.js'

const KiB = 1024
const MiB = 1024 * KiB
/** The default windows (the schema's): initial, and the caps auto-tuning grows them to. */
const STREAM_WINDOW = schema.properties.streamWindow.default
const CONNECTION_WINDOW = schema.properties.connectionWindow.default
const MAX_STREAM_WINDOW = schema.properties.maxStreamWindow.default
const MAX_CONNECTION_WINDOW = schema.properties.maxConnectionWindow.default
/** The client's transport high-water mark (transport-ws default). */
const SOCKET_HWM = 1 * MiB

interface PairOptions {
  server?: Partial<StreamsOptions>
  client?: Partial<StreamsOptions>
  serverPlugins?: PluginDefinition[]
  /** Handlers registered before start (as a server would). */
  setup?(server: EchoKernel): void
}

/** A started server and a connected client, both with transport-ws, codec-msgpack and streams; stopped in teardown. */
async function startPair(options: PairOptions = {}): Promise<{ server: EchoKernel; client: EchoKernel }> {
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, streams, ...(options.serverPlugins ?? [])],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, streams: options.server ?? {} },
    }),
  )
  options.setup?.(server)
  await server.start()
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, streams], options: { streams: options.client ?? {} } }))
  await client.start()
  return { server, client }
}

/** A promise with its resolve function, for handlers that hand results back to the test. */
function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Drains a stream, returning its frames, or the EchoError it failed with. */
async function collect<T>(stream: AsyncIterable<StreamFrame<T>>): Promise<{ frames: StreamFrame<T>[]; error?: EchoError }> {
  const frames: StreamFrame<T>[] = []
  try {
    for await (const frame of stream) frames.push(frame)
    return { frames }
  } catch (error) {
    return { frames, error: error as EchoError }
  }
}

/** Deterministic, order-sensitive chunk content: a window of random bytes stamped with the index. */
function chunkMaker(size: number): (index: number) => Buffer {
  const base = randomBytes(MiB + size)
  return (index) => {
    const offset = (index * 7919) % MiB
    const chunk = Buffer.from(base.subarray(offset, offset + size))
    chunk.writeUInt32BE(index, 0)
    return chunk
  }
}

const sha256 = () => createHash('sha256')

describe('streams: flow control', () => {
  it('100 MB at default options, fast then slow then fast reader: windows tune and stay within their caps, sender queue under its marks, a second stream flows, bytes exact', async () => {
    const TOTAL = 100 * MiB
    const CHUNK = 64 * KiB
    /** The reader is fast up to FAST_BYTES, then slow for SLOW_MS (one chunk per SLOW_EVERY_MS), then fast again. */
    const FAST_BYTES = 24 * MiB
    const SLOW_MS = 2000
    const SLOW_EVERY_MS = 8
    const violations: string[] = []
    const seen = { maxStreamUnread: 0, maxConnUnread: 0, maxInFlight: 0, maxBuffered: 0, maxQueued: 0, samples: 0, stalledSamples: 0, maxWindow: 0 }
    const phases = { windowAtSlowStart: 0, windowAtSlowEnd: 0, slowFrames: 0 }
    let bulkReader: StreamReader<Buffer> | undefined
    let bulkWriter: StreamWriter<Buffer> | undefined
    let serverSession: Session | undefined
    const received = deferred<{ hash: string; bytes: number; fastFrom: number; fastBytes: number }>()
    let sideFrames = 0
    let sideWhileStalled = 0
    let sideSeqOk = true

    const { server, client } = await startPair({
      setup(server) {
        server.streams.handle('bulk', async (stream: StreamReader<Buffer>, ctx) => {
          bulkReader = stream
          serverSession = ctx.session
          const hash = sha256()
          let bytes = 0
          let slowUntil = 0
          let fastFrom = 0
          let fastBytesFrom = 0
          for await (const frame of stream) {
            check()
            hash.update(frame.data)
            bytes += frame.data.length
            if (!slowUntil && bytes >= FAST_BYTES) {
              slowUntil = Date.now() + SLOW_MS
              phases.windowAtSlowStart = stream.window
            }
            if (slowUntil && Date.now() < slowUntil) {
              phases.slowFrames++
              await sleep(SLOW_EVERY_MS)
            } else if (slowUntil && !fastFrom) {
              phases.windowAtSlowEnd = stream.window
              fastFrom = performance.now()
              fastBytesFrom = bytes
            }
          }
          received.resolve({ hash: hash.digest('hex'), bytes, fastFrom, fastBytes: bytes - fastBytesFrom })
        })
        server.streams.handle('side', async (stream: StreamReader<number>) => {
          let expected = 0
          for await (const frame of stream) {
            sideFrames++
            if (frame.seq !== expected++ || frame.data !== frame.seq) sideSeqOk = false
            if (bulkWriter?.stats().waitingFor === 'stream-credit') sideWhileStalled++
          }
        })
      },
    })

    /** The invariants, sampled on every received frame, after every write and on a timer: the caps at defaults. */
    function check(): void {
      seen.samples++
      if (bulkReader) {
        const r = bulkReader.stats()
        seen.maxStreamUnread = Math.max(seen.maxStreamUnread, r.unreadBytes)
        seen.maxWindow = Math.max(seen.maxWindow, r.window)
        if (r.unreadBytes > MAX_STREAM_WINDOW) violations.push(`stream unread ${r.unreadBytes} > maxStreamWindow ${MAX_STREAM_WINDOW}`)
        if (r.window > MAX_STREAM_WINDOW || r.window < STREAM_WINDOW) violations.push(`stream window ${r.window} outside ${STREAM_WINDOW}…${MAX_STREAM_WINDOW}`)
        if (bulkWriter) {
          // Sent but not yet read by the application (in flight + unread): never more than the cap.
          const inFlight = bulkWriter.stats().sentOffset - r.consumedOffset
          seen.maxInFlight = Math.max(seen.maxInFlight, inFlight)
          if (inFlight > MAX_STREAM_WINDOW) violations.push(`stream in flight ${inFlight} > maxStreamWindow ${MAX_STREAM_WINDOW}`)
        }
      }
      if (serverSession) {
        const s = server.streams.stats(serverSession)
        seen.maxConnUnread = Math.max(seen.maxConnUnread, s.receive.unreadBytes)
        if (s.receive.unreadBytes > MAX_CONNECTION_WINDOW) violations.push(`connection unread ${s.receive.unreadBytes} > maxConnectionWindow ${MAX_CONNECTION_WINDOW}`)
      }
      const buffered = client.session!.bufferedAmount
      seen.maxBuffered = Math.max(seen.maxBuffered, buffered)
      // The pump checks the socket before each frame, so it overshoots by at most one frame.
      if (buffered > SOCKET_HWM + CHUNK + 64) violations.push(`socket buffered ${buffered} > high-water mark + one frame`)
      if (bulkWriter) {
        const w = bulkWriter.stats()
        seen.maxQueued = Math.max(seen.maxQueued, w.queuedBytes)
        if (w.queuedBytes > bulkWriter.highWaterMark) violations.push(`writer queued ${w.queuedBytes} > ${bulkWriter.highWaterMark}`)
        if (w.waitingFor === 'stream-credit') seen.stalledSamples++
      }
    }
    const timer = setInterval(check, 5)

    try {
      const side = await client.streams.open<number>('side')
      let sideRunning = true
      const sideLoop = (async () => {
        for (let n = 0; sideRunning; n++) {
          await side.write(n)
          await sleep(5)
        }
        await side.end()
      })()

      const make = chunkMaker(CHUNK)
      const sent = sha256()
      const t0 = performance.now()
      bulkWriter = await client.streams.open<Buffer>('bulk')
      for (let i = 0; i * CHUNK < TOTAL; i++) {
        const chunk = make(i)
        sent.update(chunk)
        await bulkWriter.write(chunk)
        check()
      }
      await bulkWriter.end()
      const result = await received.promise
      const t1 = performance.now()
      sideRunning = false
      await sideLoop

      expect(violations.slice(0, 5)).toEqual([])
      expect(result.bytes).toBe(TOTAL)
      expect(result.hash).toBe(sent.digest('hex'))
      // The fast reader made the window grow; the slow one made it shrink back.
      expect(phases.windowAtSlowStart).toBeGreaterThan(STREAM_WINDOW)
      expect(phases.windowAtSlowEnd).toBeLessThan(phases.windowAtSlowStart)
      // The reader really was slow: the window filled up and the writer waited for credit…
      expect(seen.stalledSamples).toBeGreaterThan(0)
      // …while the second stream on the same connection kept delivering.
      expect(sideSeqOk).toBe(true)
      expect(sideWhileStalled).toBeGreaterThanOrEqual(10)
      await until(() => server.streams.stats(serverSession).readers === 0, 5000, 'both readers to finish')

      const fastMs = t1 - result.fastFrom
      console.log(
        `[streams] 100 MB in ${((t1 - t0) / 1000).toFixed(2)} s overall (slow reader for ${SLOW_MS} ms after ${FAST_BYTES / MiB} MiB, ${phases.slowFrames} frames); ` +
          `last fast phase ${(result.fastBytes / MiB / (fastMs / 1000)).toFixed(0)} MiB/s (${(result.fastBytes / MiB).toFixed(1)} MiB in ${(fastMs / 1000).toFixed(2)} s); ` +
          `stream window ${STREAM_WINDOW} → ${phases.windowAtSlowStart} (max ${seen.maxWindow}) → ${phases.windowAtSlowEnd} after the slow phase; ` +
          `samples ${seen.samples}, max unread stream ${seen.maxStreamUnread} / conn ${seen.maxConnUnread}, max in flight ${seen.maxInFlight}, ` +
          `max socket buffered ${seen.maxBuffered}, max writer queue ${seen.maxQueued}; side frames ${sideFrames} (${sideWhileStalled} while bulk stalled)`,
      )
    } finally {
      clearInterval(timer)
    }
  })

  it('a reader slow from the start, at default options: unread data and windows stay at their initial sizes, the writer waits for credit, and a writer reusing one buffer still delivers exact bytes', async () => {
    const CHUNK = 64 * KiB
    const CHUNKS = 48
    const violations: string[] = []
    const seen = { maxStreamUnread: 0, maxConnUnread: 0, maxWindow: 0, maxConnWindow: 0, stalled: 0 }
    let reader: StreamReader<Buffer> | undefined
    let writer: StreamWriter<Buffer> | undefined
    let serverSession: Session | undefined
    const done = deferred<string>()
    const { server, client } = await startPair({
      setup(server) {
        server.streams.handle('slow', async (stream: StreamReader<Buffer>, ctx) => {
          reader = stream
          serverSession = ctx.session
          const hash = sha256()
          for await (const frame of stream) {
            check()
            hash.update(frame.data)
            await sleep(20)
          }
          done.resolve(hash.digest('hex'))
        })
      },
    })
    function check(): void {
      if (reader) {
        const r = reader.stats()
        seen.maxStreamUnread = Math.max(seen.maxStreamUnread, r.unreadBytes)
        seen.maxWindow = Math.max(seen.maxWindow, r.window)
        if (r.unreadBytes > STREAM_WINDOW) violations.push(`stream unread ${r.unreadBytes} > streamWindow ${STREAM_WINDOW}`)
      }
      if (serverSession) {
        const c = server.streams.stats(serverSession).receive
        seen.maxConnUnread = Math.max(seen.maxConnUnread, c.unreadBytes)
        seen.maxConnWindow = Math.max(seen.maxConnWindow, c.window)
        if (c.unreadBytes > CONNECTION_WINDOW) violations.push(`connection unread ${c.unreadBytes} > connectionWindow ${CONNECTION_WINDOW}`)
      }
      if (writer?.stats().waitingFor === 'stream-credit') seen.stalled++
    }
    const timer = setInterval(check, 5)
    try {
      writer = await client.streams.open<Buffer>('slow')
      // One buffer, rewritten after every write resolves: a write that resolved must not still read it.
      const buffer = Buffer.alloc(CHUNK)
      const sent = sha256()
      for (let i = 0; i < CHUNKS; i++) {
        buffer.fill(i & 0xff)
        buffer.writeUInt32BE(i, 0)
        sent.update(buffer)
        await writer.write(buffer)
        check()
      }
      await writer.end()
      expect(await done.promise).toBe(sent.digest('hex'))
      expect(violations.slice(0, 5)).toEqual([])
      // The window never grew: the reader always had data left to read.
      expect(seen.maxWindow).toBe(STREAM_WINDOW)
      expect(seen.maxConnWindow).toBeLessThanOrEqual(Math.max(CONNECTION_WINDOW, 2 * STREAM_WINDOW))
      expect(seen.maxStreamUnread).toBeGreaterThan(STREAM_WINDOW / 2)
      expect(seen.stalled).toBeGreaterThan(0)
      console.log(`[streams] slow reader at defaults: max unread stream ${seen.maxStreamUnread} / conn ${seen.maxConnUnread}, windows ${seen.maxWindow} / ${seen.maxConnWindow}, ${seen.stalled} samples waiting for credit`)
    } finally {
      clearInterval(timer)
    }
  })

  it("a new stream on a session starts at the window the session's streams tuned to (no second ramp-up); its accept still grants streamWindow, the largest single write", async () => {
    const CHUNK = 64 * KiB
    const readers: StreamReader<Buffer>[] = []
    const atStart: Array<{ window: number; maxOffset: number }> = []
    const { server, client } = await startPair({
      setup(server) {
        server.streams.handle('bulk', async (stream: StreamReader<Buffer>) => {
          atStart.push({ window: stream.window, maxOffset: stream.stats().maxOffset })
          readers.push(stream)
          for await (const _frame of stream) {
            // a fast reader
          }
        })
      },
    })
    const chunk = Buffer.alloc(CHUNK, 1)
    const first = await client.streams.open<Buffer>('bulk')
    expect(first.window).toBe(STREAM_WINDOW)
    for (let i = 0; i < 512 && readers[0]?.window !== MAX_STREAM_WINDOW; i++) await first.write(chunk)
    await first.end()
    const tuned = readers[0]!.window
    expect(tuned).toBeGreaterThan(STREAM_WINDOW)
    const second = await client.streams.open<Buffer>('bulk')
    // The accept grants streamWindow: a single write larger than that is still refused, as the window may shrink back to it.
    expect(second.window).toBe(STREAM_WINDOW)
    await expect(second.write(Buffer.alloc(STREAM_WINDOW))).rejects.toMatchObject({ code: 'E_PAYLOAD_TOO_LARGE' })
    await until(() => atStart.length === 2, 5000, 'the second stream to be handled')
    expect(atStart[0]).toEqual({ window: STREAM_WINDOW, maxOffset: STREAM_WINDOW })
    expect(atStart[1]).toEqual({ window: tuned, maxOffset: tuned })
    // …and its credit reaches the writer before it has read anything.
    await until(() => second.stats().maxOffset === tuned, 5000, 'the credit for the tuned window')
    await second.end()
    expect(server.streams.stats(server.sessions()[0]!).receive.window).toBeGreaterThanOrEqual(2 * tuned)
  })

  it('the connection window bounds the total over several slow streams, and each stream still gets exact bytes', async () => {
    const CONN = 160 * KiB
    const PER_STREAM = 2 * MiB
    const CHUNK = 16 * KiB
    const violations: string[] = []
    let maxConnUnread = 0
    let connectionStalls = 0
    let serverSession: Session | undefined
    const writers: StreamWriter<Buffer>[] = []
    const hashes = new Map<string, string>()
    const { server, client } = await startPair({
      // Tuning off (max = initial): this test is about the connection window's bound itself.
      server: { streamWindow: 64 * KiB, maxStreamWindow: 64 * KiB, connectionWindow: CONN, maxConnectionWindow: CONN },
      setup(server) {
        server.streams.handle('slow', async (stream: StreamReader<Buffer>, ctx) => {
          serverSession = ctx.session
          const hash = sha256()
          let n = 0
          for await (const frame of stream) {
            hash.update(frame.data)
            if (n++ < 20) await sleep(10)
          }
          hashes.set(ctx.meta as string, hash.digest('hex'))
        })
      },
    })
    const timer = setInterval(() => {
      if (writers.some((w) => w.stats().waitingFor === 'connection-credit')) connectionStalls++
      if (!serverSession) return
      const unread = server.streams.stats(serverSession).receive.unreadBytes
      maxConnUnread = Math.max(maxConnUnread, unread)
      if (unread > CONN) violations.push(`connection unread ${unread} > ${CONN}`)
    }, 2)
    try {
      const expected = new Map<string, string>()
      await Promise.all(
        ['a', 'b', 'c', 'd'].map(async (label) => {
          const make = chunkMaker(CHUNK)
          const hash = sha256()
          const writer = await client.streams.open<Buffer>('slow', label)
          writers.push(writer)
          for (let i = 0; i * CHUNK < PER_STREAM; i++) {
            const chunk = make(i)
            hash.update(chunk)
            await writer.write(chunk)
          }
          await writer.end()
          expected.set(label, hash.digest('hex'))
        }),
      )
      await until(() => hashes.size === 4, 15_000, 'four streams to finish')
      expect(violations.slice(0, 5)).toEqual([])
      expect(hashes).toEqual(expected)
      // Four windows of 64 KiB would be 256 KiB: the connection window (160 KiB) was the binding limit.
      expect(maxConnUnread).toBeLessThanOrEqual(CONN)
      expect(maxConnUnread).toBeGreaterThan(2 * 64 * KiB)
      expect(connectionStalls).toBeGreaterThan(0)
      console.log(`[streams] 4 slow streams: max connection unread ${maxConnUnread} of ${CONN}; ${connectionStalls} samples with a writer waiting for connection credit`)
      expect(client.streams.stats().send.window).toBe(CONN)
    } finally {
      clearInterval(timer)
    }
  })
})

describe('streams: semantics', () => {
  it('server → client: frames { wallTime, seq, data } in order, meta and ctx, clean end', async () => {
    const { server, client } = await startPair()
    const got = deferred<{ frames: StreamFrame<unknown>[]; ctx: { name: string; meta: unknown; id: number } }>()
    client.streams.handle('news', async (stream, ctx) => {
      const { frames } = await collect(stream)
      got.resolve({ frames, ctx: { name: ctx.name, meta: ctx.meta, id: ctx.id } })
    })
    await until(() => server.sessions().length === 1)
    const before = localNow()
    const writer = await server.sessions()[0]!.openStream('news', { lang: 'en' })
    await writer.write('first')
    await writer.write({ headline: 'second' })
    await writer.write(new Uint8Array([3]), { wallTime: 42 })
    await writer.end()
    const { frames, ctx } = await got.promise
    expect(ctx).toEqual({ name: 'news', meta: { lang: 'en' }, id: 2 }) // server-opened ids are even
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2])
    expect(frames[0]!.data).toBe('first')
    expect(frames[1]!.data).toEqual({ headline: 'second' })
    expect([...(frames[2]!.data as Buffer)]).toEqual([3])
    // wallTime: µs of the (here: shared local) clock at write time, or the override.
    expect(frames[0]!.wallTime).toBeGreaterThanOrEqual(before - 1)
    expect(frames[0]!.wallTime).toBeLessThanOrEqual(localNow() + 1)
    expect(frames[2]!.wallTime).toBe(42)
    expect(writer.state).toBe('ended')
    await expect(writer.write('late')).rejects.toMatchObject({ code: 'E_STATE' })
    // client-opened ids are odd
    server.streams.handle('up', () => {})
    const up = await client.streams.open('up')
    expect(up.id % 2).toBe(1)
  })

  it('abort by the sender reaches the receiver with its code; cancel by the receiver rejects the sender with its code', async () => {
    const outcomes = new Map<string, { frames: number; error?: EchoError }>()
    const cancelNow = deferred()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('aborted', async (stream, ctx) => {
          const { frames, error } = await collect(stream)
          outcomes.set(ctx.name, { frames: frames.length, error })
        })
        server.streams.handle('cancelled', async (stream) => {
          await stream.read()
          await cancelNow.promise
          stream.cancel('E_ENOUGH', 'enough for now')
          outcomes.set('cancelled', { frames: 1 })
        })
      },
    })

    // sender → receiver
    const w1 = await client.streams.open('aborted')
    await w1.write('one')
    w1.abort('E_STOP', 'stop right there')
    await until(() => outcomes.has('aborted'))
    expect(outcomes.get('aborted')!.frames).toBeLessThanOrEqual(1)
    expect(outcomes.get('aborted')!.error).toMatchObject({ code: 'E_STOP', message: 'stop right there' })
    expect(await rejection(w1.write('two'))).toMatchObject({ code: 'E_STOP' })
    expect(w1.signal.aborted).toBe(true)

    // receiver → sender: writes pending on credit reject with the receiver's code
    const w2 = await client.streams.open<Buffer>('cancelled')
    const pending: Array<Promise<void>> = []
    for (let i = 0; i * 16 * KiB < 2 * STREAM_WINDOW; i++) pending.push(w2.write(Buffer.alloc(16 * KiB, i)))
    await until(() => w2.stats().waitingFor === 'stream-credit', 5000, 'the writer to run out of credit')
    cancelNow.resolve()
    const error = await rejection(Promise.all(pending))
    expect(error).toMatchObject({ code: 'E_ENOUGH', message: 'enough for now' })
    expect((w2.signal.reason as EchoError).code).toBe('E_ENOUGH')
    expect(await rejection(w2.end())).toMatchObject({ code: 'E_ENOUGH' })
  })

  it('a handler that throws aborts the stream with its code; leaving the loop early cancels it', async () => {
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('throws', async (stream) => {
          for await (const frame of stream) if (frame.seq === 1) throw new EchoError('E_BAD_FRAME', 'frame 1 is bad')
        })
        server.streams.handle('breaks', async (stream) => {
          for await (const frame of stream) if (frame.seq === 0) break
        })
      },
    })
    for (const [name, code] of [['throws', 'E_BAD_FRAME'], ['breaks', 'E_CANCELLED']] as const) {
      const writer = await client.streams.open(name)
      let error: EchoError | undefined
      for (let i = 0; i < 1000 && !error; i++) {
        error = await writer.write(`frame ${i}`).then(() => undefined, (e: EchoError) => e)
        if (!error) await sleep(2)
      }
      expect(error?.code).toBe(code)
    }
  })

  it('a handler that throws or rejects with an odd value (null-prototype object, Proxy with throwing traps, Error whose message getter throws) cancels the stream with E_INTERNAL; the process stays up', async () => {
    const hostileProxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap')
        },
        getPrototypeOf() {
          throw new Error('trap')
        },
        ownKeys() {
          throw new Error('trap')
        },
      },
    )
    const badMessage = new Error('x')
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('getter')
      },
    })
    const odd: Record<string, () => unknown> = {
      nullProto: () => Object.create(null),
      proxy: () => hostileProxy,
      badMessage: () => badMessage,
      symbol: () => Symbol('s'),
    }
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const { client } = await startPair({
        setup(server) {
          for (const [name, make] of Object.entries(odd)) {
            server.streams.handle(`reject-${name}`, async (stream) => {
              await stream.read()
              throw make()
            })
            server.streams.handle(`throw-${name}`, () => {
              throw make()
            })
          }
        },
      })
      for (const name of Object.keys(odd)) {
        for (const how of ['reject', 'throw']) {
          const writer = await client.streams.open(`${how}-${name}`)
          await writer.write('first').catch(() => {}) // may already be cancelled
          await until(() => writer.signal.aborted, 5000, `${how}-${name} to be cancelled`)
          const reason = writer.signal.reason as EchoError
          expect(reason.code, `${how}-${name}`).toBe('E_INTERNAL')
          expect(typeof reason.message).toBe('string')
        }
      }
      await sleep(20)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('a disconnect aborts every stream of the session with E_CLOSED, in both directions', async () => {
    const serverSide = deferred<EchoError | undefined>()
    const { server, client } = await startPair({
      setup(server) {
        server.streams.handle('up', async (stream) => serverSide.resolve((await collect(stream)).error))
        server.streams.handle('hold', () => {}) // never reads
      },
    })
    const clientSide = deferred<EchoError | undefined>()
    client.streams.handle('down', async (stream) => clientSide.resolve((await collect(stream)).error))
    const up = await client.streams.open('up')
    await up.write('x')
    await until(() => server.sessions().length === 1)
    const session = server.sessions()[0]!
    const down = await session.openStream<Buffer>('down')
    await down.write(Buffer.from('y'))
    // writes that wait for credit when the connection drops
    const hold = await client.streams.open<Buffer>('hold')
    const waits: Array<Promise<void>> = []
    for (let i = 0; i * 16 * KiB < 1.5 * STREAM_WINDOW; i++) waits.push(hold.write(Buffer.alloc(16 * KiB)))
    await until(() => hold.stats().waitingFor === 'stream-credit', 5000, 'the writer to run out of credit')

    session.close('test closes the session')
    expect((await serverSide.promise)?.code).toBe('E_CLOSED')
    expect((await clientSide.promise)?.code).toBe('E_CLOSED')
    expect(await rejection(Promise.all(waits))).toMatchObject({ code: 'E_CLOSED' })
    expect(await rejection(up.write('after'))).toMatchObject({ code: 'E_CLOSED' })
    expect(await rejection(down.write(Buffer.from('after')))).toMatchObject({ code: 'E_CLOSED' })
    expect(await rejection(client.streams.open('up'))).toMatchObject({ code: 'E_CLOSED' })
  })

  it('refuses opens clearly: no handler, authorize, maxStreams; a write larger than the window', async () => {
    const guard = definePlugin({
      name: 'guard',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.authorize.tap('guard', (action) => (action.kind === 'stream' && action.name === 'secret' ? new EchoError(ErrorCodes.E_UNAUTHORIZED, 'not for you') : undefined))
      },
    })
    const { client } = await startPair({
      server: { maxStreams: 2 },
      serverPlugins: [guard],
      setup(server) {
        server.streams.handle('secret', () => {})
        server.streams.handle('slot', () => {})
      },
    })
    const none = await rejection(client.streams.open('nope'))
    expect(none.code).toBe('E_NO_HANDLER')
    expect(none.message).toMatch(/no handler for stream 'nope'/)
    expect(await rejection(client.streams.open('secret'))).toMatchObject({ code: 'E_UNAUTHORIZED', message: 'not for you' })

    const a = await client.streams.open('slot')
    await client.streams.open('slot')
    const limit = await rejection(client.streams.open('slot'))
    expect(limit.code).toBe('E_STREAM_LIMIT')
    expect(limit.message).toMatch(/maxStreams/)
    // `stream.end` travels before the next `stream.open` on the same socket: the slot is free again.
    await a.end()
    const again = await client.streams.open('slot')
    const big = await rejection(again.write(Buffer.alloc(STREAM_WINDOW + 1)))
    expect(big.code).toBe('E_PAYLOAD_TOO_LARGE')
    expect(big.message).toMatch(/streamWindow|smaller chunks/)
    await again.write(Buffer.alloc(STREAM_WINDOW - FRAME_OVERHEAD)) // the window, framing included, is fine
  })

  it('a raw peer that sends beyond its credit gets E_FLOW_CONTROL on that stream; the server keeps serving', async () => {
    const sinkErrors: EchoError[] = []
    const { server, client } = await startPair({
      setup(server) {
        server.streams.handle('sink', async (stream) => {
          await sleep(60_000).catch(() => {}) // never reads: credit is never raised
          void stream
        })
        server.streams.handle('watch', async (stream) => {
          const { error } = await collect(stream)
          if (error) sinkErrors.push(error)
        })
        server.streams.handle('echo', async (stream, ctx) => {
          const back = await ctx.session.openStream('echoed')
          for await (const frame of stream) await back.write(frame.data)
          await back.end()
        })
      },
    })
    const raw = await rawClient(server.url!)
    const welcome = await raw.hello({ protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: { streams: STREAMS_WIRE_VERSION } })
    expect(welcome[0]).toBe('welcome')

    // stream 1: one frame larger than the whole window
    raw.send(['stream.open', 1, 'watch'])
    const accept = await raw.frame('stream.accept')
    expect(accept[1]).toBe(1)
    expect(accept[3]).toBe(STREAM_WINDOW)
    const conn = await raw.frame('stream.conncredit')
    expect(conn[3]).toBe(CONNECTION_WINDOW)
    raw.send(['stream.data', 1, null, [0, 0, Buffer.alloc(STREAM_WINDOW + 1)]])
    const abort = await raw.frame('stream.abort')
    expect(abort[1]).toBe(1)
    expect(abort[3]).toMatchObject({ code: 'E_FLOW_CONTROL' })
    await until(() => sinkErrors.length === 1)
    expect(sinkErrors[0]!.code).toBe('E_FLOW_CONTROL')

    // stream 3: within each frame, but beyond the window in total while nobody reads
    const from = raw.messages.length
    raw.send(['stream.open', 3, 'sink'])
    await raw.frame('stream.accept', from)
    for (let seq = 0; seq * 30 * KiB <= STREAM_WINDOW; seq++) raw.send(['stream.data', 3, null, [seq, 0, Buffer.alloc(30 * KiB)]])
    const abort3 = await raw.frame('stream.abort', from)
    expect(abort3[1]).toBe(3)
    expect(abort3[3]).toMatchObject({ code: 'E_FLOW_CONTROL', message: expect.stringMatching(/credit/) })
    expect(raw.closeInfo).toBeUndefined()

    // the server still serves the well-behaved client (and the raw session stays open)
    const echoed = deferred<string[]>()
    client.streams.handle('echoed', async (stream) => echoed.resolve((await collect(stream)).frames.map((f) => String(f.data))))
    const writer = await client.streams.open('echo')
    await writer.write('still')
    await writer.write('here')
    await writer.end()
    expect(await echoed.promise).toEqual(['still', 'here'])
    expect(server.sessions()).toHaveLength(2)
  })

  it('binary stays binary (Buffer out), strings stay strings, structured data round-trips', async () => {
    const got = deferred<StreamFrame<unknown>[]>()
    const { client } = await startPair({ setup: (server) => server.streams.handle('mixed', async (s) => got.resolve((await collect(s)).frames)) })
    const writer = await client.streams.open<unknown>('mixed')
    const bytes = new Uint8Array([0, 1, 2, 250, 255])
    const floats = new Float32Array([1.5, -2])
    await writer.write(bytes)
    await writer.write(Buffer.from('buffer'))
    await writer.write(floats)
    await writer.write('text ✓')
    await writer.write({ nested: { list: [1, 'two', null], bin: new Uint8Array([9]) } })
    await writer.end()
    const frames = await got.promise
    expect(Buffer.isBuffer(frames[0]!.data)).toBe(true)
    expect([...(frames[0]!.data as Buffer)]).toEqual([...bytes])
    expect((frames[1]!.data as Buffer).toString()).toBe('buffer')
    const f = frames[2]!.data as Buffer
    expect(Buffer.isBuffer(f)).toBe(true)
    expect([...new Float32Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength))]).toEqual([1.5, -2])
    expect(frames[3]!.data).toBe('text ✓')
    const nested = frames[4]!.data as { nested: { list: unknown[]; bin: Buffer } }
    expect(nested.nested.list).toEqual([1, 'two', null])
    expect(Buffer.isBuffer(nested.nested.bin)).toBe(true)
  })

  it("'drop-oldest' never blocks: with no credit it drops the oldest queued frames and counts them", async () => {
    const release = deferred()
    const got = deferred<StreamFrame<Buffer>[]>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('media', async (stream: StreamReader<Buffer>) => {
          await release.promise
          got.resolve((await collect(stream)).frames)
        })
      },
    })
    const FRAMES = 300
    const FRAME = 4 * KiB
    const writer = await client.streams.open<Buffer>('media', undefined, { policy: 'drop-oldest', highWaterMark: 8 * KiB })
    const started = performance.now()
    for (let i = 0; i < FRAMES; i++) await writer.write(Buffer.alloc(FRAME, i % 256))
    const elapsed = performance.now() - started
    // 1.2 MB into a 256 KiB window with nobody reading: a blocking writer would hang here.
    expect(elapsed).toBeLessThan(5000)
    await until(() => writer.stats().waitingFor === 'stream-credit', 5000, 'the window to fill')
    const stats = writer.stats()
    expect(stats.droppedFrames).toBeGreaterThan(FRAMES / 2)
    expect(stats.queuedBytes).toBeLessThanOrEqual(8 * KiB)
    expect(stats.droppedBytes).toBe(stats.droppedFrames * FRAME)
    release.resolve()
    await writer.end()
    const frames = await got.promise
    const seqs = frames.map((f) => f.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(frames.length + writer.stats().droppedFrames).toBe(FRAMES)
    // What was dropped is a run of the oldest queued frames: the newest frame always arrives.
    expect(seqs.at(-1)).toBe(FRAMES - 1)
    for (const frame of frames) expect(frame.data[0]).toBe(frame.seq % 256)
  })

  it('window options must nest (initial <= max, stream <= connection): otherwise E_CONFIG naming both', async () => {
    const bad: Array<[Partial<StreamsOptions>, RegExp]> = [
      [{ streamWindow: 2 * MiB, connectionWindow: 1 * MiB }, /connectionWindow .* must be at least streamWindow/],
      [{ streamWindow: 1 * MiB, maxStreamWindow: 512 * KiB }, /maxStreamWindow .* must be at least streamWindow/],
      [{ maxConnectionWindow: 512 * KiB }, /maxConnectionWindow .* must be at least connectionWindow/],
      [{ maxStreamWindow: 32 * MiB }, /maxConnectionWindow .* must be at least maxStreamWindow/],
    ]
    for (const [options, message] of bad) {
      const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, streams], options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, streams: options } }).then(track))
      expect(error).toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(message) })
    }
  })

  it('defineStream handler modules register through the config', async () => {
    const got = deferred<string>()
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, streams],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 } },
        handlers: [defineStream('defined', async (stream, ctx) => got.resolve(`${ctx.meta}:${(await collect(stream)).frames.map((f) => f.data).join(',')}`))],
      }),
    )
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, streams] }))
    await client.start()
    const writer = await client.streams.open('defined', 'm')
    await writer.write('a')
    await writer.write('b')
    await writer.end()
    expect(await got.promise).toBe('m:a,b')
  })
})

describe('streams: adapters', () => {
  const TOTAL = 8 * MiB

  /** Variable-size chunks (1 B … 60 KiB) with a running hash. */
  function* source(hash: ReturnType<typeof sha256>): Generator<Buffer> {
    const make = chunkMaker(60 * KiB)
    let sent = 0
    for (let i = 0; sent < TOTAL; i++) {
      const size = Math.min(TOTAL - sent, 1 + ((i * 104729) % (60 * KiB)))
      const chunk = make(i).subarray(0, size)
      hash.update(chunk)
      sent += size
      yield chunk
    }
  }

  it('Node Writable → Node Readable move bytes exactly, with backpressure at both ends', async () => {
    let maxUnread = 0
    let reader: StreamReader | undefined
    const got = deferred<string>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('node', async (stream) => {
          reader = stream
          const hash = sha256()
          let writes = 0
          const slowSink = new Writable({
            highWaterMark: 16 * KiB,
            write(chunk: Buffer, _enc, callback) {
              hash.update(chunk)
              maxUnread = Math.max(maxUnread, stream.stats().unreadBytes)
              // slow for the first 200 chunks
              if (writes++ < 200) setTimeout(callback, 2)
              else callback()
            },
          })
          await pipeline(stream.toNodeReadable(), slowSink)
          got.resolve(hash.digest('hex'))
        })
      },
    })
    const writer = await client.streams.open<Buffer>('node')
    const writable = writer.toNodeWritable()
    const sent = sha256()
    let refused = 0
    let maxLength = 0
    for (const chunk of source(sent)) {
      if (!writable.write(chunk)) {
        refused++
        maxLength = Math.max(maxLength, writable.writableLength)
        await once(writable, 'drain')
      }
    }
    writable.end()
    await once(writable, 'finish')
    expect(await got.promise).toBe(sent.digest('hex'))
    expect(refused).toBeGreaterThan(0) // write() returned false: backpressure reached the producer
    expect(maxLength).toBeLessThanOrEqual(writer.highWaterMark + 60 * KiB)
    expect(maxUnread).toBeLessThanOrEqual(MAX_STREAM_WINDOW)
    expect(reader!.stats().state).toBe('done')
  })

  it('Web WritableStream → Web ReadableStream move bytes exactly, with backpressure at both ends', async () => {
    let maxUnread = 0
    const got = deferred<string>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('web', async (stream) => {
          const hash = sha256()
          const readable = stream.toWebReadable()
          const r = readable.getReader()
          for (let n = 0; ; n++) {
            const { done, value } = await r.read()
            if (done) break
            hash.update(value as Uint8Array)
            maxUnread = Math.max(maxUnread, stream.stats().unreadBytes)
            if (n < 200) await sleep(2)
          }
          got.resolve(hash.digest('hex'))
        })
      },
    })
    const writer = await client.streams.open<Uint8Array>('web')
    const web = writer.toWebWritable().getWriter()
    const sent = sha256()
    let waited = 0
    for (const chunk of source(sent)) {
      if ((web.desiredSize ?? 1) <= 0) waited++
      await web.ready
      web.write(chunk).catch(() => {}) // a failure also rejects close() below
    }
    await web.close()
    expect(await got.promise).toBe(sent.digest('hex'))
    expect(waited).toBeGreaterThan(0) // `ready` held the producer back
    expect(maxUnread).toBeLessThanOrEqual(MAX_STREAM_WINDOW)
  })

  it('a Readable.from source piped into the Node adapter, and frames mode, keep data and order', async () => {
    const got = deferred<StreamFrame<unknown>[]>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('objects', async (stream) => {
          const frames: StreamFrame<unknown>[] = []
          for await (const frame of stream.toNodeReadable({ mode: 'frames' })) frames.push(frame as StreamFrame<unknown>)
          got.resolve(frames)
        })
      },
    })
    const writer = await client.streams.open('objects')
    await pipeline(Readable.from([{ a: 1 }, 'two', Buffer.from([3])]), writer.toNodeWritable({ mode: 'frames' }))
    const frames = await got.promise
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2])
    expect(frames[0]!.data).toEqual({ a: 1 })
    expect(frames[1]!.data).toBe('two')
    expect([...(frames[2]!.data as Buffer)]).toEqual([3])
  })
})

describe('streams: playout through the jitter buffer', () => {
  it('yields frames in order at wallTime + delay (fixed and adaptive), reports metrics, ends with the stream', async () => {
    const FRAMES = 40
    const FRAME_MS = 20
    const results = new Map<string, { seqs: number[]; lags: number[]; gaps: number; metrics: ReturnType<ReturnType<StreamReader['playout']>['metrics']> }>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('audio', async (stream, ctx) => {
          const adaptive = ctx.meta === 'adaptive'
          const player = stream.playout(adaptive ? {} : { delayMs: 100, adaptive: false })
          const seqs: number[] = []
          const lags: number[] = []
          let gaps = 0
          for await (const event of player) {
            if (event.kind === 'gap') {
              gaps += event.gap.count
              continue
            }
            seqs.push(event.frame.seq)
            lags.push((localNow() - event.frame.wallTime) / 1000)
          }
          results.set(ctx.meta as string, { seqs, lags, gaps, metrics: player.metrics() })
        })
      },
    })
    await Promise.all(
      ['fixed', 'adaptive'].map(async (mode) => {
        const writer = await client.streams.open<Buffer>('audio', mode)
        const start = localNow()
        for (let seq = 0; seq < FRAMES; seq++) {
          // Stamp the nominal capture time, as a media source would.
          await writer.write(Buffer.alloc(960, seq), { wallTime: start + seq * FRAME_MS * 1000 })
          const due = start / 1000 + (seq + 1) * FRAME_MS
          await sleep(Math.max(0, due - localNow() / 1000))
        }
        await writer.end()
      }),
    )
    await until(() => results.size === 2, 5000, 'both playouts to end')
    for (const [mode, { seqs, lags, gaps, metrics }] of results) {
      // strictly increasing, most frames played (late ones may be dropped on a very busy machine)
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!)
      expect(seqs.length).toBeGreaterThanOrEqual(FRAMES * 0.75)
      expect(seqs.length + gaps).toBeLessThanOrEqual(FRAMES)
      expect(metrics.delivered).toBe(seqs.length)
      // never early, and the delay is bounded
      const floor = mode === 'fixed' ? 100 : 20
      const ceiling = mode === 'fixed' ? 100 + 400 : 500 + 400
      for (const lag of lags) {
        expect(lag).toBeGreaterThanOrEqual(floor - 1)
        expect(lag).toBeLessThan(ceiling)
      }
    }
  })

  it('playout options are checked: a bad one is E_CONFIG', async () => {
    const got = deferred<EchoError>()
    const { client } = await startPair({
      setup(server) {
        server.streams.handle('bad', (stream) => {
          try {
            stream.playout({ minDelayMs: 50, maxDelayMs: 10 })
          } catch (error) {
            got.resolve(error as EchoError)
          }
        })
      },
    })
    await client.streams.open('bad')
    const error = await got.promise
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/minDelayMs/)
  })
})
