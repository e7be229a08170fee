/**
 * The rpc plugin over real WebSockets (127.0.0.1, port 0): calls both ways with typed results,
 * 10,000 calls in flight on one connection, and every way a call can fail — timeout, cancel,
 * unknown method, a throwing handler, rejected params — as the caller sees it and as it crossed
 * the wire.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { definePlugin, EchoError, type EchoKernel, type Frame, type PluginEntry } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { type RpcOptions } from '@echostream/plugin-rpc'
import { track, until } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

// The app's contract, declared once by augmentation: requests and handlers below are typed by it.
// (Names under `typed.` so they cannot clash with other test files, which share one type program.)
declare module '@echostream/plugin-rpc' {
  interface ServerMethods {
    'typed.add': (params: { a: number; b: number }) => number
    'typed.addLater': (params: { a: number; b: number }) => Promise<number>
    'typed.greet': (params: { greeting: string }) => string
  }
  interface ClientMethods {
    'typed.whoami': () => { name: string }
    'typed.double': (params: number) => number
  }
}

/** Records every rpc frame a kernel receives (after decoding), to check what crossed the wire. */
function wiretap(seen: Frame[]) {
  return definePlugin({
    name: 'rpc-wiretap',
    version: '1.0.0',
    kernel: '^1',
    setup(kernel) {
      kernel.hooks.inbound.tap('rpc-wiretap', (frame) => {
        if (frame?.kind.startsWith('rpc.')) seen.push(frame)
        return frame
      })
    },
  })
}

async function startPair(
  options: { server?: Partial<RpcOptions>; client?: Partial<RpcOptions>; serverPlugins?: PluginEntry[]; clientPlugins?: PluginEntry[] } = {},
): Promise<{ server: EchoKernel; client: EchoKernel }> {
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, [rpc, options.server ?? {}], ...(options.serverPlugins ?? [])] }))
  await server.start()
  const client = await connect(server, options.client, options.clientPlugins)
  return { server, client }
}

async function connect(server: EchoKernel, rpcOptions: Partial<RpcOptions> = {}, plugins: PluginEntry[] = []): Promise<EchoKernel> {
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [rpc, rpcOptions], ...plugins] }))
  await client.start()
  return client
}

describe('rpc over WebSockets', () => {
  it('calls client → server and server → client, with typed results', async () => {
    const { server, client } = await startPair()
    server.rpc.handle('typed.add', ({ a, b }) => a + b)
    // A server handler that calls back the client that called it.
    server.rpc.handle('typed.greet', async ({ greeting }, ctx) => {
      const me = await ctx.session.request('typed.whoami')
      return `${greeting}, ${me.name}`
    })
    client.rpc.handle('typed.whoami', () => ({ name: 'ada' }))
    client.rpc.handle('typed.double', (n) => n * 2)

    const sum = await client.rpc.request('typed.add', { a: 1, b: 2 })
    expectTypeOf(sum).toEqualTypeOf<number>()
    expect(sum).toBe(3)

    const session = server.sessions()[0]!
    const who = await session.request('typed.whoami')
    expectTypeOf(who).toEqualTypeOf<{ name: string }>()
    expect(who).toEqual({ name: 'ada' })
    expect(await server.rpc.requestTo(session, 'typed.double', 21)).toBe(42)

    const greeting = await client.rpc.request('typed.greet', { greeting: 'hello' })
    expectTypeOf(greeting).toEqualTypeOf<string>()
    expect(greeting).toBe('hello, ada')

    // Untyped names still work: result unknown.
    server.rpc.handle('echo', (params) => params)
    const echoed = await client.rpc.request('echo', { bytes: new Uint8Array([1, 2, 3]) })
    expectTypeOf(echoed).toEqualTypeOf<unknown>()
    expect(Buffer.from((echoed as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from([1, 2, 3]))
  })

  it('completes 10,000 calls in flight at once on one connection, each way, with the right answers', async () => {
    const { server, client } = await startPair()
    server.rpc.handle('typed.add', ({ a, b }) => a + b)
    server.rpc.handle('typed.addLater', async ({ a, b }) => {
      await new Promise((resolve) => setImmediate(resolve))
      return a + b
    })
    client.rpc.handle('typed.double', (n) => n * 2)
    const N = 10_000

    const calls: Array<Promise<number>> = []
    for (let i = 0; i < N; i++) calls.push(client.rpc.request(i % 2 ? 'typed.addLater' : 'typed.add', { a: i, b: i * 3 }, { timeoutMs: 0 }))
    expect(client.rpc.pendingCount()).toBe(N) // all sent before any reply could arrive
    const results = await Promise.all(calls)
    for (let i = 0; i < N; i++) if (results[i] !== i * 4) expect.fail(`call ${i} answered ${results[i]}, expected ${i * 4}`)
    expect(client.rpc.pendingCount()).toBe(0)

    const session = server.sessions()[0]!
    const back: Array<Promise<number>> = []
    for (let i = 0; i < N; i++) back.push(session.request('typed.double', i, { timeoutMs: 0 }))
    expect(server.rpc.pendingCount(session)).toBe(N)
    const doubled = await Promise.all(back)
    for (let i = 0; i < N; i++) if (doubled[i] !== i * 2) expect.fail(`server → client call ${i} answered ${doubled[i]}`)
  })

  it('times out with E_TIMEOUT, and the handler sees its signal abort', async () => {
    const { server, client } = await startPair()
    let observed: { reason?: EchoError; timeoutMs?: number } | undefined
    server.rpc.handle('slow', (_params, ctx) => {
      observed = { timeoutMs: ctx.timeoutMs }
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          observed!.reason = ctx.signal.reason as EchoError
          reject(ctx.signal.reason)
        })
      })
    })
    const error = await rejection(client.rpc.request('slow', null, { timeoutMs: 100 }))
    expect(error.code).toBe('E_TIMEOUT')
    expect(error.message).toMatch(/'slow' got no reply within 100 ms/)
    await until(() => observed?.reason !== undefined, 5000, 'the handler to see the abort')
    expect(observed!.reason!.code).toBe('E_CANCELLED')
    expect(observed!.timeoutMs).toBe(100)
    // the connection is fine afterwards
    server.rpc.handle('math.add', ({ a, b }) => a + b)
    expect(await client.rpc.request('math.add', { a: 2, b: 2 })).toBe(4)
  })

  it('uses defaultTimeoutMs from the options when the call sets no timeout', async () => {
    const { server, client } = await startPair({ client: { defaultTimeoutMs: 100 } })
    server.rpc.handle('never', () => new Promise(() => {}))
    const error = await rejection(client.rpc.request('never'))
    expect(error.code).toBe('E_TIMEOUT')
    expect(error.message).toContain('100 ms')
  })

  it('cancels with an AbortSignal: the caller gets E_CANCELLED and the handler its signal aborted', async () => {
    const { server, client } = await startPair()
    let started = false
    let abortedWith: unknown
    let settledAfterAbort = false
    server.rpc.handle('work', async (_params, { signal }) => {
      started = true
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))
      abortedWith = signal.reason
      settledAfterAbort = true
      return 'too late'
    })
    const controller = new AbortController()
    const call = client.rpc.request('work', undefined, { signal: controller.signal, timeoutMs: 0 })
    await until(() => started, 5000, 'the handler to start')
    controller.abort()
    const error = await rejection(call)
    expect(error.code).toBe('E_CANCELLED')
    await until(() => settledAfterAbort, 5000, 'the handler to observe the abort')
    expect(EchoError.is(abortedWith) && abortedWith.code).toBe('E_CANCELLED')
    expect(server.rpc.pendingCount()).toBe(0)
  })

  it('answers an unknown method with E_METHOD_NOT_FOUND', async () => {
    const { client } = await startPair()
    const error = await rejection(client.rpc.request('no.such.method', { x: 1 }))
    expect(error.code).toBe('E_METHOD_NOT_FOUND')
    expect(error.message).toContain("'no.such.method'")
    expect(error.message).toContain('rpc.handle')
  })

  it('a throwing handler reaches the caller as code, message and data only — no stack crosses', async () => {
    const seen: Frame[] = []
    const { server, client } = await startPair({ clientPlugins: [wiretap(seen)] })
    server.rpc.handle('plain', () => {
      throw new Error('boom')
    })
    server.rpc.handle('coded', async () => {
      throw new EchoError('E_DIVIDE_BY_ZERO', 'Cannot divide by zero: pass a non-zero b.', { data: { b: 0 }, cause: new Error('secret cause') })
    })

    const plain = await rejection(client.rpc.request('plain'))
    expect([plain.code, plain.message, plain.data]).toEqual(['E_INTERNAL', 'boom', undefined])
    const coded = await rejection(client.rpc.request('coded'))
    expect([coded.code, coded.message, coded.data]).toEqual(['E_DIVIDE_BY_ZERO', 'Cannot divide by zero: pass a non-zero b.', { b: 0 }])
    expect(coded.cause).toBeUndefined()

    const errors = seen.filter((f) => f.kind === 'rpc.err')
    expect(errors.map((f) => f.payload)).toEqual([
      { code: 'E_INTERNAL', message: 'boom' },
      { code: 'E_DIVIDE_BY_ZERO', message: 'Cannot divide by zero: pass a non-zero b.', data: { b: 0 } },
    ])
    const crossed = JSON.stringify(errors)
    expect(crossed).not.toMatch(/stack|\bat .*\(|\.ts:\d+|secret cause/)
  })

  it('exposeErrors: false replaces a plain error message with a generic one', async () => {
    const { server, client } = await startPair({ server: { exposeErrors: false } })
    server.rpc.handle('leaky', () => {
      throw new Error('db password is hunter2')
    })
    const error = await rejection(client.rpc.request('leaky'))
    expect(error.code).toBe('E_INTERNAL')
    expect(error.message).not.toContain('hunter2')
    expect(error.message).toContain("server's log")
  })

  it("rejects params that break the method's schema with E_INVALID_PARAMS listing the problems", async () => {
    const { server, client } = await startPair()
    let ran = 0
    server.rpc.handle(
      'math.add',
      ({ a, b }) => {
        ran++
        return a + b
      },
      { schema: { type: 'object', required: ['a', 'b'], additionalProperties: false, properties: { a: { type: 'number' }, b: { type: 'number' } } } },
    )
    const error = await rejection(client.rpc.request('math.add', { a: 'one', c: 3 } as never))
    expect(error.code).toBe('E_INVALID_PARAMS')
    expect(error.message).toContain("Invalid params for 'math.add'")
    expect(error.message).toContain('params.a must be number')
    expect(error.message).toContain('params.b is required')
    expect(error.message).toContain("unknown property 'c'")
    expect((error.data as { problems: string[] }).problems).toHaveLength(3)
    expect(ran).toBe(0)
    expect(await client.rpc.request('math.add', { a: 1, b: 2 })).toBe(3)
  })

  it('bounds outstanding calls with maxPending (E_MAX_PENDING), per session', async () => {
    const { server, client } = await startPair({ client: { maxPending: 3 } })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    server.rpc.handle('wait', () => gate.then(() => 'done'))
    const first = [1, 2, 3].map(() => client.rpc.request('wait'))
    const error = await rejection(client.rpc.request('wait'))
    expect(error.code).toBe('E_MAX_PENDING')
    expect(error.retryable).toBe(true)
    release()
    expect(await Promise.all(first)).toEqual(['done', 'done', 'done'])
    expect(await client.rpc.request('wait')).toBe('done')
  })

  it('rpc.request on a server rejects with E_STATE pointing to session.request', async () => {
    const { server } = await startPair()
    const error = await rejection(server.rpc.request('typed.whoami'))
    expect(error.code).toBe('E_STATE')
    expect(error.message).toContain('session.request')
  })

  it('a method refused by the kernel authorize hook answers with the refusal', async () => {
    const guard = definePlugin({
      name: 'guard',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.authorize.tap('guard', (action) => (action.kind === 'rpc' && action.name.startsWith('admin.') ? new EchoError('E_UNAUTHORIZED', 'Admins only: log in as an admin.') : undefined))
      },
    })
    const { server, client } = await startPair({ serverPlugins: [guard] })
    let ran = false
    server.rpc.handle('admin.reset', () => (ran = true))
    server.rpc.handle('math.add', ({ a, b }) => a + b)
    const error = await rejection(client.rpc.request('admin.reset'))
    expect([error.code, error.message]).toEqual(['E_UNAUTHORIZED', 'Admins only: log in as an admin.'])
    expect(ran).toBe(false)
    expect(await client.rpc.request('math.add', { a: 1, b: 1 })).toBe(2)
  })
})
