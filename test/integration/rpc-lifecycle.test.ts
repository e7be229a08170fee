/**
 * What happens to calls when connections go: a dropped socket, a server stopping, a closed session.
 * Every pending call must reject with E_CLOSED promptly (the calls here have no timeout, so only
 * the close can end them), handlers running for the gone peer see their signal abort, and a second
 * client is not affected. Also: defineRpc handler modules from a config, and drain.
 */
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { defineRpc, EchoError, type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import { track, until } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

const plugins = [transportWs, codecMsgpack, rpc]

/** "Promptly": generous for a loaded 2-core machine, yet far below any timeout involved (there is none). */
const PROMPT_MS = 3000

async function startServer(): Promise<EchoKernel> {
  const server = track(await createServer({ plugins }))
  await server.start()
  return server
}

async function startClient(server: EchoKernel): Promise<EchoKernel> {
  const client = track(await createClient({ url: server.url, plugins }))
  await client.start()
  return client
}

/** The server's session for `client`. */
function sessionOf(server: EchoKernel, client: EchoKernel): Session {
  const session = server.getSession(client.session!.id)
  if (!session) throw new Error('no server session for that client')
  return session
}

/** Kills the client's TCP connection without a close handshake, as a network failure would. */
function dropConnection(client: EchoKernel): void {
  // Reaches into transport-ws on purpose: no public API drops a socket uncleanly.
  const connection = (client.session as unknown as { connection: { socket: WebSocket } }).connection
  connection.socket.terminate()
}

/** Watches calls from now on (so their rejections are handled); `within(ms)` fails if any is still pending after `ms`. */
function watch<T>(promises: Array<Promise<T>>): { within(ms: number): Promise<PromiseSettledResult<T>[]> } {
  const settled = Promise.allSettled(promises)
  return {
    async within(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`calls still pending after ${ms} ms`)), ms)))
      try {
        return await Promise.race([settled, deadline])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

function codesOf(results: PromiseSettledResult<unknown>[]): string[] {
  return results.map((r) => (r.status === 'rejected' && EchoError.is(r.reason) ? r.reason.code : `not an EchoError rejection: ${r.status}`))
}

describe('rpc when connections go', () => {
  it('a dropped connection rejects every pending call with E_CLOSED promptly, both ways; a second client is unaffected', async () => {
    const server = await startServer()
    const aborted: Array<{ session: string; code: string }> = []
    let started = 0
    server.rpc.handle('hang', (_params, ctx) => {
      started++
      ctx.signal.addEventListener('abort', () => aborted.push({ session: ctx.session.id, code: (ctx.signal.reason as EchoError).code }))
      return new Promise(() => {}) // never resolves
    })
    server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
    const a = await startClient(server)
    const b = await startClient(server)
    a.rpc.handle('client.hang', () => new Promise(() => {}))

    const fromA = Array.from({ length: 5 }, () => a.rpc.request('hang', undefined, { timeoutMs: 0 }))
    const fromB = b.rpc.request('hang', undefined, { timeoutMs: 0 })
    fromB.catch(() => {})
    const toA = sessionOf(server, a).request('client.hang', undefined, { timeoutMs: 0 })
    await until(() => started === 6, 5000, 'all six handlers to start')

    const calls = watch([...fromA, toA])
    const droppedAt = Date.now()
    dropConnection(a)
    const results = await calls.within(PROMPT_MS)
    expect(codesOf(results)).toEqual(Array(6).fill('E_CLOSED'))
    expect(Date.now() - droppedAt).toBeLessThan(PROMPT_MS)
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/the connection closed \(1006/)

    // The server aborted the five handlers running for A, and only those.
    await until(() => aborted.length === 5, PROMPT_MS, "A's handlers to be aborted")
    expect(new Set(aborted.map((x) => x.code))).toEqual(new Set(['E_CLOSED']))
    expect(aborted.every((x) => x.session !== b.session!.id)).toBe(true)

    // B: still connected, its own call still pending, new calls answered.
    expect(b.rpc.pendingCount()).toBe(1)
    expect(await b.rpc.request('math.add', { a: 20, b: 22 })).toBe(42)
    expect(server.sessions().map((s) => s.id)).toEqual([b.session!.id])
    await new Promise((r) => setTimeout(r, 50))
    expect(aborted).toHaveLength(5)
  })

  it('server.stop() rejects the calls of every client and its own calls with E_CLOSED promptly', async () => {
    const server = await startServer()
    server.rpc.handle('hang', () => new Promise(() => {}))
    const clients = [await startClient(server), await startClient(server)]
    for (const c of clients) c.rpc.handle('client.hang', () => new Promise(() => {}))
    const calls = clients.flatMap((c) => [c.rpc.request('hang', 1, { timeoutMs: 0 }), c.rpc.request('hang', 2, { timeoutMs: 0 })])
    const serverCalls = server.sessions().map((s) => s.request('client.hang', undefined, { timeoutMs: 0 }))
    await until(() => server.sessions().length === 2 && clients.every((c) => c.rpc.pendingCount() === 2), 5000, 'calls to be pending')
    await new Promise((r) => setTimeout(r, 20)) // let the requests reach the handlers

    const all = watch([...calls, ...serverCalls])
    await server.stop()
    const results = await all.within(PROMPT_MS)
    expect(codesOf(results)).toEqual(Array(6).fill('E_CLOSED'))
    expect((results[4] as PromiseRejectedResult).reason.message).toContain('the server is stopping')
  })

  it('client.stop() rejects its pending calls and the server aborts their handlers', async () => {
    const server = await startServer()
    let abortCode: string | undefined
    server.rpc.handle('hang', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => (abortCode = (ctx.signal.reason as EchoError).code))
      return new Promise(() => {})
    })
    const client = await startClient(server)
    const call = client.rpc.request('hang', undefined, { timeoutMs: 0 })
    await until(() => server.rpc.pendingCount() === 0 && server.sessions().length === 1, 5000)
    await new Promise((r) => setTimeout(r, 20))
    const watched = watch([call])
    await client.stop()
    const [result] = await watched.within(PROMPT_MS)
    expect(codesOf([result!])).toEqual(['E_CLOSED'])
    await until(() => abortCode !== undefined, PROMPT_MS, 'the server handler to be aborted')
    expect(abortCode).toBe('E_CLOSED')
  })

  it('calls on a closed session reject with E_CLOSED at once; before start with E_STATE', async () => {
    const server = await startServer()
    const notStarted = track(await createClient({ url: server.url, plugins }))
    expect((await rejection(notStarted.rpc.request('x'))).code).toBe('E_STATE')

    const client = await startClient(server)
    const session = sessionOf(server, client)
    dropConnection(client)
    await until(() => session.state === 'closed' && client.session!.state === 'closed', 5000, 'both sides to see the close')
    expect((await rejection(client.rpc.request('x'))).code).toBe('E_CLOSED')
    expect((await rejection(client.session!.request('x'))).code).toBe('E_CLOSED')

    // A stopped kernel keeps its APIs: late calls get E_CLOSED, not a TypeError.
    const other = await startClient(server)
    await other.stop()
    expect((await rejection(other.rpc.request('x'))).code).toBe('E_CLOSED')
    const error = await rejection(session.request('x'))
    expect(error.code).toBe('E_CLOSED')
    expect(error.message).toContain('is closed')
  })

  it('unloading rpc fails its pending calls with E_CLOSED; a peer without rpc answers calls with an error, not silence', async () => {
    const server = await startServer()
    server.rpc.handle('hang', () => new Promise(() => {}))
    server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
    const client = await startClient(server)
    const rpcApi = client.rpc // kept: the kernel drops `client.rpc` when the plugin unloads
    const pending = watch([rpcApi.request('hang', undefined, { timeoutMs: 0 })])
    await new Promise((r) => setTimeout(r, 20))
    await client.unload('rpc')
    const [result] = await pending.within(PROMPT_MS)
    expect(codesOf([result!])).toEqual(['E_CLOSED'])
    expect((result as PromiseRejectedResult).reason.message).toContain('unloaded its rpc plugin')
    expect((client as unknown as Record<string, unknown>).rpc).toBeUndefined()

    // The server still has rpc; its call to this client, which no longer handles rpc frames, is
    // answered by the client kernel's `error` frame (re: 'rpc.req') and rejects with it at once.
    const session = sessionOf(server, client)
    const error = await rejection(session.request('anything', undefined, { timeoutMs: 0 }))
    expect(error.code).toBe('E_PROTOCOL')
    expect(error.message).toContain("Unknown frame kind 'rpc.req'")
  })

  it('drain lets running handlers finish before stop', async () => {
    const server = await startServer()
    server.rpc.handle('slowAdd', async ({ a, b }: { a: number; b: number }) => {
      await new Promise((r) => setTimeout(r, 100))
      return a + b
    })
    const client = await startClient(server)
    const call = client.rpc.request('slowAdd', { a: 1, b: 2 })
    await until(() => server.sessions().length === 1, 5000)
    await new Promise((r) => setTimeout(r, 20))
    let answered = false
    void call.then(() => (answered = true))
    await server.drain(10_000)
    await until(() => answered, PROMPT_MS, 'the answer') // sent before drain resolved, received just after
    expect(await call).toBe(3)
    await server.stop()
  })
})

describe('defineRpc handler modules', () => {
  const add = defineRpc<{ a: number; b: number }, number>('math.add', ({ a, b }) => a + b, {
    schema: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'number' }, b: { type: 'number' } } },
  })
  // A module namespace: named exports, one of them an array.
  const mathModule = {
    mul: defineRpc<{ a: number; b: number }, number>('math.mul', ({ a, b }) => a * b),
    more: [defineRpc('math.neg', (n: number) => -n)],
    notAHandler: 42,
  }

  it('registers defineRpc values listed under `handlers` in a config, with their schemas, on both sides', async () => {
    const server = track(await createServer({ plugins, handlers: [add, mathModule] }))
    await server.start()
    expect(server.rpc.methods().sort()).toEqual(['math.add', 'math.mul', 'math.neg'])
    const client = track(await createClient({ url: server.url, plugins, handlers: [defineRpc('client.name', (_p, ctx) => `client of ${ctx.session.id}`)] }))
    await client.start()

    expect(await client.rpc.request('math.add', { a: 2, b: 3 })).toBe(5)
    expect(await client.rpc.request('math.mul', { a: 2, b: 3 })).toBe(6)
    expect(await client.rpc.request('math.neg', 7)).toBe(-7)
    expect((await rejection(client.rpc.request('math.add', { a: 2 }))).code).toBe('E_INVALID_PARAMS')
    const session = server.sessions()[0]!
    expect(await session.request('client.name')).toBe(`client of ${session.id}`)
  })

  it('a config that defines the same method twice fails with E_CONFIG naming it', async () => {
    const error = await rejection(createServer({ plugins, handlers: [add, defineRpc('math.add', () => 0)] }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toContain("'math.add' already has a handler")
  })
})
