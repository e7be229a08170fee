/**
 * Streaming calls over real WebSockets (127.0.0.1, port 0): a handler that returns an async
 * iterable streams its items to a caller reading with `for await`, within the caller's credit (a
 * slow reader never grows the handler side beyond one window); leaving the loop cancels the
 * handler within one round trip; errors end the loop with their code; idle and total timeouts;
 * client → server streaming input and bidirectional calls; both directions.
 */
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { EchoError, type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { type RpcOptions, type RpcStream } from '@echostream/plugin-rpc'
import { sleep, track, until } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

async function startPair(options: { server?: Partial<RpcOptions>; client?: Partial<RpcOptions> } = {}): Promise<{ server: EchoKernel; client: EchoKernel; session: Session }> {
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, [rpc, options.server ?? {}]], options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }))
  server.rpc.handle('ping', () => 'pong')
  await server.start()
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [rpc, options.client ?? {}]] }))
  await client.start()
  return { server, client, session: server.sessions()[0]! }
}

/** Reads a whole stream; errors are returned, not thrown. */
async function drain<T>(stream: AsyncIterable<T>): Promise<{ items: T[]; error?: EchoError }> {
  const items: T[] = []
  try {
    for await (const item of stream) items.push(item)
  } catch (error) {
    return { items, error: error as EchoError }
  }
  return { items }
}

const token = (i: number) => `token-${String(i).padStart(5, '0')}`
/** The encoded size of the message carrying item `i` (what the credit is charged), for an id below 128. */
const itemBytes = (i: number) => pack(['rpc.item', 1, null, token(i)]).length

describe('streaming calls', () => {
  it('streams 10,000 tokens to a slow reader: the handler never runs more than one window ahead', async () => {
    const { server, client, session } = await startPair()
    const WINDOW = 4096
    let pulled = 0
    let finished = false
    server.rpc.handle('tokens', async function* (count: number) {
      try {
        for (let i = 0; i < count; i++) {
          pulled++
          yield token(i)
        }
        return { count }
      } finally {
        finished = true
      }
    })
    const stream = client.rpc.stream('tokens', 10_000, { windowBytes: WINDOW }) as RpcStream<string, { count: number }>
    let read = 0
    let maxAhead = 0
    let maxBuffered = 0
    for await (const item of stream) {
      if (item !== token(read)) expect.fail(`item ${read} was ${item}`)
      read++
      maxAhead = Math.max(maxAhead, pulled - read)
      maxBuffered = Math.max(maxBuffered, session.bufferedAmount)
      // A slow reader: a pause every 500 items, a macrotask every 50.
      if (read % 500 === 0) await sleep(10)
      else if (read % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(read).toBe(10_000)
    expect(await stream.result).toEqual({ count: 10_000 })
    expect(finished).toBe(true)
    // What the handler produced beyond what the reader took is within the window plus one item.
    const bound = WINDOW + itemBytes(0)
    expect(maxAhead * itemBytes(0)).toBeLessThanOrEqual(bound)
    expect(maxBuffered).toBeLessThanOrEqual(bound)
    console.log(`[rpc-streaming] window ${WINDOW} B: at most ${maxAhead} items (${maxAhead * itemBytes(0)} B) ahead of the reader, socket buffer at most ${maxBuffered} B`)
  })

  it('a stalled reader stalls the generator: nothing more is pulled until it reads on', async () => {
    const { server, client } = await startPair()
    let pulled = 0
    server.rpc.handle('forever', async function* () {
      for (let i = 0; ; i++) {
        pulled++
        yield token(i)
      }
    })
    const stream = client.rpc.stream('forever', undefined, { windowBytes: 1024 }) as RpcStream<string>
    expect((await stream.next()).value).toBe(token(0))
    await sleep(100)
    const stalledAt = pulled
    await sleep(100)
    expect(pulled).toBe(stalledAt)
    expect(stalledAt * itemBytes(0)).toBeLessThanOrEqual(1024 + 2 * itemBytes(0))
    for (let i = 1; i < 200; i++) expect((await stream.next()).value).toBe(token(i))
    expect(pulled).toBeGreaterThan(200)
    stream.cancel()
  })

  it("breaking out of the loop aborts the handler's signal within one round trip; its finally runs", async () => {
    const { server, client } = await startPair()
    let abortedAt = 0
    let reason: EchoError | undefined
    let finallyRan = false
    let pulled = 0
    server.rpc.handle('tokens', async function* (_params: unknown, ctx) {
      ctx.signal.addEventListener('abort', () => {
        abortedAt = performance.now()
        reason = ctx.signal.reason as EchoError
      })
      try {
        for (let i = 0; ; i++) {
          pulled++
          yield token(i)
          await sleep(1)
        }
      } finally {
        finallyRan = true
      }
    })
    let read = 0
    let brokeAt = 0
    for await (const item of client.rpc.stream('tokens') as RpcStream<string>) {
      expect(item).toBe(token(read))
      if (++read === 10) {
        brokeAt = performance.now()
        break
      }
    }
    // The cancel went out before this call, on the same ordered socket: when its reply is back
    // (one round trip), the handler must have seen the abort.
    expect(await client.rpc.request('ping')).toBe('pong')
    const rtt = performance.now() - brokeAt
    expect(abortedAt).toBeGreaterThan(0)
    expect(reason!.code).toBe('E_CANCELLED')
    await until(() => finallyRan, 2000, "the generator's finally")
    const pulledAtAbort = pulled
    await sleep(30)
    expect(pulled).toBe(pulledAtAbort)
    expect(client.rpc.pendingCount()).toBe(0)
    console.log(`[rpc-streaming] cancel reached the handler ${(abortedAt - brokeAt).toFixed(2)} ms after the break (round trip ${rtt.toFixed(2)} ms)`)
  })

  it("a handler error ends the caller's loop with its code, after the items sent before it", async () => {
    const { server, client } = await startPair()
    server.rpc.handle('fails', async function* () {
      yield 1
      yield 2
      yield 3
      throw new EchoError('E_MODEL_OVERLOADED', 'the model is overloaded: retry in a minute', { data: { retryAfterS: 60 } })
    })
    server.rpc.handle('crashes', async function* () {
      yield 'a'
      throw new Error('boom')
    })
    const stream = client.rpc.stream('fails') as RpcStream<number>
    const { items, error } = await drain(stream)
    expect(items).toEqual([1, 2, 3])
    expect(error).toBeInstanceOf(EchoError)
    expect(error!.code).toBe('E_MODEL_OVERLOADED')
    expect(error!.data).toEqual({ retryAfterS: 60 })
    expect((await rejection(stream.result)).code).toBe('E_MODEL_OVERLOADED')
    const crashed = await drain(client.rpc.stream('crashes'))
    expect(crashed.items).toEqual(['a'])
    expect(crashed.error!.code).toBe('E_INTERNAL')
    expect(crashed.error!.message).toBe('boom')
    expect(await client.rpc.request('ping')).toBe('pong')
  })

  it('request() on a streaming method resolves with the stream; stream() on a unary method ends at once with the result', async () => {
    const { server, client } = await startPair()
    server.rpc.handle('count', async function* (n: number) {
      for (let i = 0; i < n; i++) yield i
      return 'done'
    })
    server.rpc.handle('empty', async function* () {
      return 'nothing'
    })
    const stream = (await client.rpc.request('count', 5)) as RpcStream<number, string>
    expect((await drain(stream)).items).toEqual([0, 1, 2, 3, 4])
    expect(await stream.result).toBe('done')
    const empty = (await client.rpc.request('empty')) as RpcStream<number, string>
    expect((await drain(empty)).items).toEqual([])
    expect(await empty.result).toBe('nothing')
    const unary = client.rpc.stream('ping')
    expect((await drain(unary)).items).toEqual([])
    expect(await unary.result).toBe('pong')
    // A stream() that cannot start fails on its first read.
    const missing = await drain(client.rpc.stream('no.such.method'))
    expect(missing.error!.code).toBe('E_METHOD_NOT_FOUND')
  })

  it('idle timeout: a stream that stops sending while it has credit fails with E_TIMEOUT and the handler is cancelled', async () => {
    const { server, client } = await startPair()
    let reason: EchoError | undefined
    server.rpc.handle('stalls', async function* (_p: unknown, ctx) {
      yield 'first'
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
      reason = ctx.signal.reason as EchoError
    })
    const started = performance.now()
    const { items, error } = await drain(client.rpc.stream('stalls', undefined, { idleTimeoutMs: 150 }))
    expect(items).toEqual(['first'])
    expect(error!.code).toBe('E_TIMEOUT')
    expect(error!.data).toMatchObject({ idleTimeoutMs: 150 })
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    await until(() => reason !== undefined, 2000, 'the handler to be cancelled')
    expect(reason!.code).toBe('E_CANCELLED')
  })

  it('a slow reader is not idle: no idle timeout while the reader holds the whole window', async () => {
    const { server, client } = await startPair()
    server.rpc.handle('burst', async function* () {
      for (let i = 0; i < 300; i++) yield token(i)
    })
    const stream = client.rpc.stream('burst', undefined, { idleTimeoutMs: 100, windowBytes: 1024 }) as RpcStream<string>
    expect((await stream.next()).value).toBe(token(0))
    await sleep(300) // the handler used up its credit and waits for us: not its fault
    const rest = await drain(stream)
    expect(rest.error).toBeUndefined()
    expect(rest.items).toHaveLength(299)
  })

  it('total timeout: an explicit timeoutMs bounds the whole stream; the default timeout only bounds its start', async () => {
    const { server, client } = await startPair({ client: { defaultTimeoutMs: 150 } })
    server.rpc.handle('ticks', async function* (n: number) {
      for (let i = 0; i < n; i++) {
        await sleep(20)
        yield i
      }
    })
    const started = performance.now()
    const cut = await drain(client.rpc.stream('ticks', 1000, { timeoutMs: 200 }))
    expect(cut.error!.code).toBe('E_TIMEOUT')
    expect(cut.items.length).toBeGreaterThan(0)
    expect(performance.now() - started).toBeLessThan(2000)
    // 20 ticks of 20 ms = ~400 ms, past the 150 ms default: it runs to the end.
    const whole = await drain(client.rpc.stream('ticks', 20))
    expect(whole.error).toBeUndefined()
    expect(whole.items).toHaveLength(20)
  })

  it('client → server streaming: the caller passes an async iterable; the handler reads it within its credit', async () => {
    const { server, client } = await startPair()
    let consumed = 0
    let maxAhead = 0
    let produced = 0
    server.rpc.handle('sum', async (input: AsyncIterable<number>) => {
      let total = 0
      for await (const n of input) {
        total += n
        consumed++
        maxAhead = Math.max(maxAhead, produced - consumed)
        if (consumed % 100 === 0) await sleep(2) // a slow reader
      }
      return { total, count: consumed }
    })
    async function* numbers(count: number) {
      for (let i = 1; i <= count; i++) {
        produced++
        yield i
      }
    }
    expect(await client.rpc.request('sum', numbers(5000))).toEqual({ total: (5000 * 5001) / 2, count: 5000 })
    // 64 KiB of input credit at ~10 bytes an item: the caller's generator never ran further ahead than that.
    expect(maxAhead * pack(['rpc.in', 1, null, 1]).length).toBeLessThanOrEqual(65_536 + 16)
  })

  it("an input that throws cancels the call; a handler that stops early stops the caller's input", async () => {
    const { server, client } = await startPair()
    let handlerReason: EchoError | undefined
    server.rpc.handle('read', async (input: AsyncIterable<number>, ctx) => {
      try {
        for await (const _ of input) void _
      } catch (error) {
        handlerReason = error as EchoError
      }
      return ctx.signal.aborted
    })
    async function* failing() {
      yield 1
      throw new Error('source broke')
    }
    const error = await rejection(client.rpc.request('read', failing()))
    expect(error.code).toBe('E_CANCELLED')
    expect(error.message).toMatch(/source broke/)
    await until(() => handlerReason !== undefined, 2000, 'the handler to see its input fail')
    expect(handlerReason!.code).toBe('E_CANCELLED')

    let closed = false
    server.rpc.handle('first', async (input: AsyncIterable<number>) => {
      for await (const n of input) return n
      return -1
    })
    async function* endless() {
      try {
        for (let i = 7; ; i++) yield i
      } finally {
        closed = true
      }
    }
    expect(await client.rpc.request('first', endless())).toBe(7)
    await until(() => closed, 2000, "the caller's input to be closed")
  })

  it('bidirectional: input and output streamed at once, in order', async () => {
    const { server, client } = await startPair()
    server.rpc.handle('double', async function* (input: AsyncIterable<number>) {
      let count = 0
      for await (const n of input) {
        count++
        yield n * 2
      }
      return count
    })
    async function* numbers() {
      for (let i = 0; i < 2000; i++) yield i
    }
    const stream = client.rpc.stream('double', numbers()) as RpcStream<number, number>
    const { items, error } = await drain(stream)
    expect(error).toBeUndefined()
    expect(items).toEqual(Array.from({ length: 2000 }, (_, i) => i * 2))
    expect(await stream.result).toBe(2000)
  })

  it('server → client: the server calls a streaming handler on the client', async () => {
    const { client, session, server } = await startPair()
    client.rpc.handle('client.progress', async function* (steps: number) {
      for (let i = 1; i <= steps; i++) yield { step: i, of: steps }
      return 'ok'
    })
    const stream = server.rpc.streamTo(session, 'client.progress', 3) as RpcStream<{ step: number }, string>
    expect((await drain(stream)).items.map((p) => p.step)).toEqual([1, 2, 3])
    expect(await stream.result).toBe('ok')
    const viaRequest = (await session.request('client.progress', 2)) as RpcStream<{ step: number }>
    expect((await drain(viaRequest)).items).toHaveLength(2)
  })

  it('a disconnect ends the caller loop with E_CLOSED and aborts the handler', async () => {
    const { server, client } = await startPair()
    let reason: EchoError | undefined
    server.rpc.handle('forever', async function* (_p: unknown, ctx) {
      ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason as EchoError))
      for (let i = 0; ; i++) {
        yield i
        await sleep(5)
      }
    })
    const stream = client.rpc.stream('forever') as RpcStream<number>
    expect((await stream.next()).value).toBe(0)
    const ended = drain(stream)
    await sleep(20)
    server.sessions()[0]!.close('test')
    const { error } = await ended
    expect(error!.code).toBe('E_CLOSED')
    await until(() => reason !== undefined, 2000, 'the handler to be aborted')
    expect(reason!.code).toBe('E_CLOSED')
  })
})
