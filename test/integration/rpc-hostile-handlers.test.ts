/**
 * Handlers that fail in odd ways, over a real WebSocket: whatever a handler throws, rejects with or
 * returns, the caller gets a coded EchoError, the process raises no unhandled rejection or uncaught
 * exception, and the session (and another client) keeps working. Both directions: a server handler
 * called by a client, and a client handler called by the server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EchoKernel, type Logger, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import { track } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

/** A Proxy whose every trap throws (the nastiest value a handler can throw). */
function hostileProxy(): object {
  const boom = () => {
    throw new Error('trap')
  }
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom, set: boom, defineProperty: boom, apply: boom })
}

function errorWithThrowingMessage(): Error {
  const error = new Error('x')
  Object.defineProperty(error, 'message', {
    get() {
      throw new Error('message getter')
    },
  })
  Object.defineProperty(error, 'stack', {
    get() {
      throw new Error('stack getter')
    },
  })
  return error
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

function cyclic(): unknown[] {
  const a: unknown[] = [1]
  a.push(a)
  return a
}

function cyclicObject(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 }
  o.self = o
  return o
}

function deep(depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

/** Values thrown (sync), rejected with (async), or returned. Each made fresh per use. */
const ODD: Record<string, () => unknown> = {
  'Object.create(null)': () => Object.create(null),
  'a Proxy whose traps throw': hostileProxy,
  'a revoked Proxy': revokedProxy,
  'an Error whose message getter throws': errorWithThrowingMessage,
  'a cyclic array': cyclic,
  'a cyclic object': cyclicObject,
  'a BigInt': () => 10n ** 30n,
  'a Symbol': () => Symbol('odd'),
  'a 3,000-deep value': () => deep(3000),
  'undefined': () => undefined,
  'a function': () => () => 1,
}

/** Values that cannot be sent as a result (Object.create(null) and undefined are plain data). */
const SENDABLE = new Set(['Object.create(null)', 'undefined'])
const UNSENDABLE = Object.keys(ODD).filter((name) => !SENDABLE.has(name))

const quiet: Logger = { info() {}, warn() {}, error() {} }

describe('handlers that throw, reject or return odd values', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
    process.on('uncaughtException', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
    process.off('uncaughtException', onUnhandled)
  })

  async function pair(): Promise<{ server: EchoKernel; client: EchoKernel; other: EchoKernel }> {
    // A logger that itself throws on odd input must not matter either: the plugin guards its own logging.
    const throwingLogger: Logger = {
      info() {},
      warn() {},
      error(message: string) {
        if (typeof message !== 'string') throw new Error('logger got a non-string')
      },
    }
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, rpc] }, { logger: throwingLogger }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc] }, { logger: quiet }))
    await client.start()
    const other = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc] }, { logger: quiet }))
    await other.start()
    return { server, client, other }
  }

  function register(kernel: EchoKernel): void {
    for (const [name, make] of Object.entries(ODD)) {
      kernel.rpc.handle(`throw ${name}`, () => {
        throw make()
      })
      kernel.rpc.handle(`reject ${name}`, () => Promise.reject(make()))
      kernel.rpc.handle(`async-throw ${name}`, async () => {
        await new Promise((resolve) => setImmediate(resolve))
        throw make()
      })
      kernel.rpc.handle(`return ${name}`, () => make())
      kernel.rpc.handle(`resolve ${name}`, async () => make())
    }
    kernel.rpc.handle('ping', () => 'pong')
  }

  async function expectCoded(call: Promise<unknown>, what: string): Promise<string> {
    const error = await rejection(call).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`)
    })
    expect(error.code, what).toMatch(/^E_[A-Z_]+$/)
    expect(typeof error.message, what).toBe('string')
    expect(error.message.length, what).toBeGreaterThan(0)
    return error.code
  }

  it('client → server: every odd value thrown or rejected reaches the caller as a coded error; the server keeps serving', async () => {
    const { server, client, other } = await pair()
    register(server)
    const call = (method: string) => client.rpc.request(method, undefined, { timeoutMs: 5000 })
    for (const name of Object.keys(ODD)) {
      for (const how of ['throw', 'reject', 'async-throw']) {
        const code = await expectCoded(call(`${how} ${name}`), `${how} ${name}`)
        expect(code, `${how} ${name}`).toBe('E_INTERNAL')
      }
    }
    for (const name of UNSENDABLE) {
      for (const how of ['return', 'resolve']) await expectCoded(call(`${how} ${name}`), `${how} ${name}`)
    }
    // Plain data returned is plain data.
    expect(await call('return Object.create(null)')).toEqual({})
    expect(await call('ping')).toBe('pong')
    expect(await other.rpc.request('ping')).toBe('pong')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(unhandled).toEqual([])
  })

  it('server → client: a client handler failing oddly answers the server with a coded error', async () => {
    const { server, client } = await pair()
    register(client)
    const session: Session = server.sessions().find((s) => s.id === client.session!.id)!
    for (const name of Object.keys(ODD)) {
      await expectCoded(session.request(`reject ${name}`, undefined, { timeoutMs: 5000 }), `reject ${name}`)
      await expectCoded(session.request(`throw ${name}`, undefined, { timeoutMs: 5000 }), `throw ${name}`)
    }
    for (const name of UNSENDABLE) await expectCoded(session.request(`resolve ${name}`, undefined, { timeoutMs: 5000 }), `resolve ${name}`)
    expect(await session.request('ping')).toBe('pong')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(unhandled).toEqual([])
  })

  it('an EchoError with unencodable data still answers with its code and message', async () => {
    const { server, client } = await pair()
    const { EchoError } = await import('@echostream/kernel')
    server.rpc.handle('bad-data', () => {
      throw new EchoError('E_APP', 'app failure', { data: { self: cyclicObject(), n: 10n } })
    })
    const error = await rejection(client.rpc.request('bad-data'))
    expect(error.code).toBe('E_APP')
    expect(error.message).toBe('app failure')
    expect(unhandled).toEqual([])
  })

  it('odd values from an authorize tap refuse the call with a coded error', async () => {
    const { server, client } = await pair()
    server.rpc.handle('ping2', () => 'pong')
    server.hooks.authorize.tap('odd', () => {
      throw hostileProxy()
    })
    const error = await rejection(client.rpc.request('ping2'))
    expect(error.code).toBe('E_INTERNAL')
    expect(unhandled).toEqual([])
  })
})
