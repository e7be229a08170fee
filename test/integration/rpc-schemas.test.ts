/**
 * Schemas everywhere, over real WebSockets, each with a JSON Schema and with a zod schema (any
 * Standard Schema validator): rpc params and results (checked by the handler's side before
 * sending, and by the caller's `result` option on receipt), streamed items both ways, event
 * payloads (plugin-events) and stream metadata (plugin-streams). Failures are coded errors that
 * list the problems; nothing invalid reaches a handler or a listener.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineEvent, defineRpc, type EchoKernel, type PluginEntry } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { type RpcOptions, type RpcStream } from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import { sleep, track, until } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

async function startPair(rpcOptions: Partial<RpcOptions> = {}): Promise<{ server: EchoKernel; client: EchoKernel; serverLog: string[]; clientWarnings: string[] }> {
  const serverLog: string[] = []
  const clientWarnings: string[] = []
  const plugins = (): PluginEntry[] => [transportWs, codecMsgpack, [rpc, rpcOptions], events, streams]
  const server = track(
    await createServer(
      { plugins: plugins(), options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } },
      { logger: { info() {}, warn: (m) => void serverLog.push(m), error: (m) => void serverLog.push(m) } },
    ),
  )
  await server.start()
  const client = track(await createClient({ url: server.url, plugins: plugins() }, { logger: { info() {}, warn: (m) => void clientWarnings.push(m), error() {} } }))
  await client.start()
  return { server, client, serverLog, clientWarnings }
}

const jsonPoint = {
  type: 'object',
  required: ['x', 'y'],
  additionalProperties: false,
  properties: { x: { type: 'number' }, y: { type: 'number' }, label: { type: 'string', default: 'origin' } },
} as const
const zodPoint = z.object({ x: z.number(), y: z.number(), label: z.string().default('origin') }).strict()

for (const [kind, point] of [
  ['JSON Schema', jsonPoint],
  ['zod', zodPoint],
] as const) {
  describe(`schemas with ${kind}`, () => {
    it('rpc params: a mismatch is E_INVALID_PARAMS listing the problems; the handler gets the checked value (defaults filled)', async () => {
      const { server, client } = await startPair()
      let calls = 0
      server.rpc.handle(
        'geo.echo',
        (p: { x: number; y: number; label: string }) => {
          calls++
          return p
        },
        { params: point },
      )
      expect(await client.rpc.request('geo.echo', { x: 1, y: 2 })).toEqual({ x: 1, y: 2, label: 'origin' })
      const error = await rejection(client.rpc.request('geo.echo', { x: 'one', z: 3 }))
      expect(error.code).toBe('E_INVALID_PARAMS')
      const problems = (error.data as { problems: string[] }).problems
      expect(problems.length).toBeGreaterThanOrEqual(2)
      expect(problems.join(' ')).toMatch(/params\.x/)
      expect(problems.join(' ')).toMatch(/params(\.y| .*y)/)
      expect(error.message).toContain(problems[0]!)
      expect(calls).toBe(1)
    })

    it('rpc results: a bad result is caught before it is sent (E_INVALID_RESULT, logged), and by the caller’s result schema', async () => {
      const { server, client, serverLog } = await startPair({ checkResults: 'always' })
      server.rpc.handle('geo.bad', () => ({ x: 1, y: 'two' }), { result: point })
      server.rpc.handle('geo.good', () => ({ x: 1, y: 2 }), { result: point })
      const caught = await rejection(client.rpc.request('geo.bad'))
      expect(caught.code).toBe('E_INVALID_RESULT')
      expect(caught.message).toMatch(/result\.y/)
      expect(serverLog.join('\n')).toMatch(/geo\.bad/)
      expect(await client.rpc.request('geo.good')).toEqual({ x: 1, y: 2, label: 'origin' })
      // The caller's own expectation, checked on receipt (here the handler has no schema).
      server.rpc.handle('geo.unchecked', () => ({ x: 'a', y: 2 }))
      const mine = await rejection(client.rpc.request('geo.unchecked', undefined, { result: point }))
      expect(mine.code).toBe('E_INVALID_RESULT')
      expect(mine.message).toMatch(/result\.x/)
      expect(await client.rpc.request('geo.good', undefined, { result: point })).toEqual({ x: 1, y: 2, label: 'origin' })
    })

    it('streamed items: each result item and each input item is checked; the first bad one ends the call', async () => {
      const { server, client } = await startPair({ checkResults: 'always' })
      let cancelled = false
      server.rpc.handle(
        'geo.walk',
        async function* (_p: unknown, ctx) {
          ctx.signal.addEventListener('abort', () => (cancelled = true))
          yield { x: 0, y: 0 }
          yield { x: 1, y: 1 }
          yield { x: 2 } // breaks the schema
          yield { x: 3, y: 3 }
        },
        { result: point },
      )
      const items: unknown[] = []
      let error: { code: string; message: string } | undefined
      try {
        for await (const item of client.rpc.stream('geo.walk') as RpcStream<unknown>) items.push(item)
      } catch (e) {
        error = e as { code: string; message: string }
      }
      expect(items).toEqual([
        { x: 0, y: 0, label: 'origin' },
        { x: 1, y: 1, label: 'origin' },
      ])
      expect(error!.code).toBe('E_INVALID_RESULT')

      // Caller-side item checks cancel the handler.
      server.rpc.handle('geo.raw', async function* (_p: unknown, ctx) {
        ctx.signal.addEventListener('abort', () => (cancelled = true))
        yield { x: 0, y: 0 }
        yield { x: 'bad', y: 0 }
        await sleep(10_000)
      })
      cancelled = false
      const raw = client.rpc.stream('geo.raw', undefined, { result: point })
      expect((await raw.next()).value).toEqual({ x: 0, y: 0, label: 'origin' })
      expect((await rejection(raw.next())).code).toBe('E_INVALID_RESULT')
      await until(() => cancelled, 2000, 'the handler to be cancelled')

      // Input items are checked against the params schema as the handler reads them.
      let seen = 0
      server.rpc.handle(
        'geo.count',
        async (input: AsyncIterable<unknown>) => {
          for await (const _ of input) seen++
          return seen
        },
        { params: point },
      )
      async function* input() {
        yield { x: 1, y: 1 }
        yield { x: 2, y: 'no' }
        yield { x: 3, y: 3 }
      }
      const bad = await rejection(client.rpc.request('geo.count', input()))
      expect(bad.code).toBe('E_INVALID_PARAMS')
      expect(seen).toBe(1)
    })

    it('event payloads (plugin-events): a bad payload reaches no listener and the sender hears E_INVALID_PAYLOAD', async () => {
      const { server, client, clientWarnings } = await startPair()
      const received: unknown[] = []
      server.events.schema('geo.moved', point)
      server.events.on('geo.moved', (data) => void received.push(data))
      server.events.on('barrier', () => void received.push('barrier'))
      client.events.emit('geo.moved', { x: 1, y: 'north' })
      client.events.emit('geo.moved', { x: 1, y: 2 })
      client.events.emit('barrier')
      await until(() => received.includes('barrier'), 5000, 'the barrier event')
      expect(received).toEqual([{ x: 1, y: 2, label: 'origin' }, 'barrier'])
      await until(() => clientWarnings.some((w) => w.includes('E_INVALID_PAYLOAD')), 5000, 'the refusal at the sender')
      expect(clientWarnings.find((w) => w.includes('E_INVALID_PAYLOAD'))).toMatch(/data\.y/)
      // The session is fine afterwards.
      server.rpc.handle('ping', () => 'pong')
      expect(await client.rpc.request('ping')).toBe('pong')
    })

    it("stream metadata (plugin-streams): open() is refused with E_INVALID_PAYLOAD; the handler gets the checked meta", async () => {
      const { server, client } = await startPair()
      const metas: unknown[] = []
      server.streams.handle(
        'geo.track',
        async (stream, ctx) => {
          metas.push(ctx.meta)
          for await (const _ of stream) void _
        },
        { meta: point },
      )
      const refused = await rejection(client.streams.open('geo.track', { x: 1 }))
      expect(refused.code).toBe('E_INVALID_PAYLOAD')
      expect(refused.message).toMatch(/meta\.y/)
      const writer = await client.streams.open('geo.track', { x: 1, y: 2 })
      await writer.end()
      await until(() => metas.length === 1, 5000, 'the handler')
      expect(metas).toEqual([{ x: 1, y: 2, label: 'origin' }])
    })
  })
}

describe('schemas: more', () => {
  it('an async Standard Schema validator (zod refine with a promise) checks params before the handler runs', async () => {
    const { server, client } = await startPair()
    const taken = new Set(['ada'])
    const signup = z.object({ name: z.string() }).refine(async ({ name }) => {
      await sleep(5)
      return !taken.has(name)
    }, 'name is taken')
    let ran = 0
    server.rpc.handle('signup', ({ name }: { name: string }) => (ran++, `welcome ${name}`), { params: signup })
    expect(await client.rpc.request('signup', { name: 'grace' })).toBe('welcome grace')
    const error = await rejection(client.rpc.request('signup', { name: 'ada' }))
    expect(error.code).toBe('E_INVALID_PARAMS')
    expect(error.message).toMatch(/name is taken/)
    expect(ran).toBe(1)
  })

  it('checkResults: never sends a bad result as it is (production mode skips the check)', async () => {
    const { server, client } = await startPair({ checkResults: 'never' })
    server.rpc.handle('bad', () => ({ x: 'one' }), { result: zodPoint })
    expect(await client.rpc.request('bad')).toEqual({ x: 'one' })
  })

  it('defineRpc / defineEvent handler modules carry their schemas', async () => {
    const { server, client, clientWarnings } = await startPair()
    const received: unknown[] = []
    server.registerHandlers([
      defineRpc('mod.add', ({ a, b }: { a: number; b: number }) => a + b, { params: z.object({ a: z.number(), b: z.number() }) }),
      defineEvent('mod.note', (data: { text: string }) => void received.push(data), { schema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } }),
    ])
    expect(await client.rpc.request('mod.add', { a: 1, b: 2 })).toBe(3)
    expect((await rejection(client.rpc.request('mod.add', { a: 1 }))).code).toBe('E_INVALID_PARAMS')
    client.events.emit('mod.note', { text: 1 })
    client.events.emit('mod.note', { text: 'hi' })
    await until(() => received.length === 1 && clientWarnings.some((w) => w.includes('E_INVALID_PAYLOAD')), 5000, 'the note and the refusal')
    expect(received).toEqual([{ text: 'hi' }])
  })

  it('optional params: a JSON Schema with a root default fills a call made without params (with and without a timeout)', async () => {
    const { server, client } = await startPair()
    const seen: unknown[] = []
    const params = { type: 'object', default: {}, additionalProperties: false, properties: { limit: { type: 'integer', default: 10 } } }
    server.rpc.handle('logs.recent', (p: { limit: number }) => (seen.push(p), p.limit), { params })
    server.rpc.handle('logs.strict', () => 1, { params: { type: 'object' } })
    expect(await client.rpc.request('logs.recent')).toBe(10)
    expect(await client.rpc.request('logs.recent', undefined, { timeoutMs: 5000 })).toBe(10) // nil with meta on the wire
    expect(await client.rpc.request('logs.recent', { limit: 2 })).toBe(2)
    expect(seen).toEqual([{ limit: 10 }, { limit: 10 }, { limit: 2 }])
    expect((await rejection(client.rpc.request('logs.recent', 'all'))).code).toBe('E_INVALID_PARAMS')
    // without a root default, params stay required
    expect((await rejection(client.rpc.request('logs.strict'))).code).toBe('E_INVALID_PARAMS')
  })

  it('a schema that is not one is refused at registration with E_CONFIG naming the method', async () => {
    const { server } = await startPair()
    expect(() => server.rpc.handle('m', () => 1, { params: { type: 'no-such-type' } })).toThrow(/params schema of 'm'/)
    expect(() => server.rpc.handle('m2', () => 1, { result: 42 as never })).toThrow(/result schema of 'm2'/)
    expect(() => server.events.schema('e', 'nope' as never)).toThrow(/schema of event 'e'/)
  })
})

