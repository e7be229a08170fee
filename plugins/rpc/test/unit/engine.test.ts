/**
 * The engine frame by frame, with fake sessions (no socket): the exact frames it sends, when it
 * answers, and how each call settles. The network behaviour is proven in test/integration/rpc*.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { EchoError, type Frame, type Logger } from '@echostream/kernel'
import { RpcEngine, type RpcEngineOptions } from '../../src/engine.js'
import { CallContext } from '../../src/context.js'
import { MAX_ID } from '../../src/frames.js'
import { fakeSession, last, type FakeSession } from './fake-session.js'

const logged: string[] = []
const logger: Logger = { info() {}, warn() {}, error: (m) => logged.push(m) }

function engine(options: Partial<RpcEngineOptions> = {}): RpcEngine {
  return new RpcEngine({ defaultTimeoutMs: 30_000, maxPending: 100_000, maxConcurrent: 100_000, exposeErrors: true, role: 'server', logger, ...options })
}

/** Awaits a promise that must reject with an EchoError. */
async function rejection(promise: Promise<unknown>): Promise<EchoError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  expect(EchoError.is(outcome.error)).toBe(true)
  return outcome.error as EchoError
}

/** Fire-and-forget calls whose rejection (closed, stopped) is not under test. */
function swallow(promise: Promise<unknown>): void {
  promise.catch(() => {})
}

const req = (id: number | undefined, name: string | undefined, payload?: unknown, meta?: Record<string, unknown>): Frame => ({ kind: 'rpc.req', id, name, payload, ...(meta ? { meta } : {}) })

afterEach(() => {
  logged.length = 0
})

describe('requester', () => {
  it('sends rpc.req with increasing ids, and meta.timeoutMs only for a per-call timeout', () => {
    const e = engine()
    const s = fakeSession()
    swallow(e.requester.request(s, 'a', { x: 1 }))
    swallow(e.requester.request(s, 'b', undefined, { timeoutMs: 500 }))
    swallow(e.requester.request(s, 'c', [1], { timeoutMs: 0 }))
    expect(s.sent).toEqual([
      { kind: 'rpc.req', id: 1, name: 'a', payload: { x: 1 } },
      { kind: 'rpc.req', id: 2, name: 'b', payload: undefined, meta: { timeoutMs: 500 } },
      { kind: 'rpc.req', id: 3, name: 'c', payload: [1] },
    ])
    expect(e.pendingCount(s)).toBe(3)
    e.onDisconnect(s, { code: 1000, reason: 'test' })
  })

  it('resolves with rpc.res, rejects with rpc.err (code, message, data), ignores late and unknown replies', async () => {
    const e = engine()
    const s = fakeSession()
    const ok = e.requester.request(s, 'm', 1)
    const bad = e.requester.request(s, 'm', 2)
    e.requester.onResult({ kind: 'rpc.res', id: 1, payload: { sum: 3 } }, s)
    e.requester.onError({ kind: 'rpc.err', id: 2, payload: { code: 'E_APP', message: 'no', data: { why: 1 } } }, s)
    await expect(ok).resolves.toEqual({ sum: 3 })
    const error = await rejection(bad)
    expect([error.code, error.message, error.data]).toEqual(['E_APP', 'no', { why: 1 }])
    // late / unknown ids are ignored, a reply without an id is a protocol error
    expect(() => e.requester.onResult({ kind: 'rpc.res', id: 1, payload: 0 }, s)).not.toThrow()
    expect(() => e.requester.onResult({ kind: 'rpc.res', id: 99 }, s)).not.toThrow()
    expect(() => e.requester.onResult({ kind: 'rpc.res' }, s)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }))
    expect(() => e.requester.onError({ kind: 'rpc.err', id: -1 }, s)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }))
    expect(e.pendingCount()).toBe(0)
  })

  it('a malformed rpc.err payload rejects the call with E_PROTOCOL', async () => {
    const e = engine()
    const s = fakeSession()
    const call = e.requester.request(s, 'm')
    e.requester.onError({ kind: 'rpc.err', id: 1, payload: 'garbage' }, s)
    expect((await rejection(call)).code).toBe('E_PROTOCOL')
  })

  it('times out with E_TIMEOUT and tells the peer with rpc.cancel', async () => {
    const e = engine()
    const s = fakeSession()
    const error = await rejection(e.requester.request(s, 'slow', null, { timeoutMs: 20 }))
    expect(error.code).toBe('E_TIMEOUT')
    expect(error.message).toContain("'slow'")
    expect(error.message).toContain('20 ms')
    expect(error.retryable).toBe(true)
    expect(last(s)).toEqual({ kind: 'rpc.cancel', id: 1 })
    expect(e.pendingCount()).toBe(0)
  })

  it('arms one timer for many calls with the same timeout, not one per call', () => {
    const e = engine()
    const s = fakeSession()
    for (let i = 0; i < 1000; i++) swallow(e.requester.request(s, 'm'))
    for (let i = 0; i < 10; i++) swallow(e.requester.request(s, 'm', undefined, { timeoutMs: 5000 }))
    expect(e.pendingCount(s)).toBe(1010)
    expect(e.requester.timers).toBe(2)
    e.closeAll('is stopping')
    expect(e.requester.timers).toBe(0)
  })

  it('uses defaultTimeoutMs when the call sets none, and 0 means no timer', async () => {
    const e = engine({ defaultTimeoutMs: 20 })
    const s = fakeSession()
    expect((await rejection(e.requester.request(s, 'm'))).code).toBe('E_TIMEOUT')
    const none = engine({ defaultTimeoutMs: 0 })
    const pending = none.requester.request(s, 'm')
    await new Promise((r) => setTimeout(r, 60))
    expect(none.pendingCount(s)).toBe(1)
    none.onDisconnect(s, undefined)
    expect((await rejection(pending)).code).toBe('E_CLOSED')
  })

  it('an AbortSignal rejects with E_CANCELLED and sends rpc.cancel; an aborted one sends nothing', async () => {
    const e = engine()
    const s = fakeSession()
    const controller = new AbortController()
    const call = e.requester.request(s, 'm', 1, { signal: controller.signal })
    controller.abort(new Error('user gave up'))
    const error = await rejection(call)
    expect(error.code).toBe('E_CANCELLED')
    expect((error.cause as Error).message).toBe('user gave up')
    expect(last(s)).toEqual({ kind: 'rpc.cancel', id: 1 })

    const before = s.sent.length
    expect((await rejection(e.requester.request(s, 'm', 1, { signal: AbortSignal.abort() }))).code).toBe('E_CANCELLED')
    expect(s.sent.length).toBe(before)
  })

  it('a reply after abort, and an abort after the reply, change nothing', async () => {
    const e = engine()
    const s = fakeSession()
    const controller = new AbortController()
    const call = e.requester.request(s, 'm', 1, { signal: controller.signal })
    e.requester.onResult({ kind: 'rpc.res', id: 1, payload: 'ok' }, s)
    controller.abort()
    await expect(call).resolves.toBe('ok')
    expect(s.sent.map((f) => f.kind)).toEqual(['rpc.req'])
  })

  it('bounds outstanding calls per session with maxPending (E_MAX_PENDING)', async () => {
    const e = engine({ maxPending: 2 })
    const s = fakeSession()
    const other = fakeSession()
    swallow(e.requester.request(s, 'm'))
    swallow(e.requester.request(s, 'm'))
    const error = await rejection(e.requester.request(s, 'm'))
    expect(error.code).toBe('E_MAX_PENDING')
    expect(error.message).toContain('maxPending')
    expect(s.sent).toHaveLength(2)
    swallow(e.requester.request(other, 'm')) // per session
    expect(other.sent).toHaveLength(1)
    e.closeAll('is stopping')
  })

  it('refuses calls on closed and handshaking sessions, and bad arguments', async () => {
    const e = engine()
    expect((await rejection(e.requester.request(fakeSession('closed'), 'm'))).code).toBe('E_CLOSED')
    expect((await rejection(e.requester.request(fakeSession('handshaking'), 'm'))).code).toBe('E_STATE')
    const s = fakeSession()
    expect((await rejection(e.requester.request(s, '' as string))).code).toBe('E_INVALID_ARGUMENT')
    expect((await rejection(e.requester.request(s, 'm', 1, { timeoutMs: -1 }))).code).toBe('E_INVALID_ARGUMENT')
    expect((await rejection(e.requester.request(s, 'm', 1, { timeoutMs: 2 ** 31 }))).code).toBe('E_INVALID_ARGUMENT')
    expect((await rejection(e.requester.request(s, 'm', 1, { signal: {} as AbortSignal }))).code).toBe('E_INVALID_ARGUMENT')
    expect(s.sent).toHaveLength(0)
  })

  it('params the codec refuses reject the call with the send error and leave nothing pending', async () => {
    const e = engine()
    const s = fakeSession()
    s.failSend = new EchoError('E_CODEC', 'cannot encode')
    expect((await rejection(e.requester.request(s, 'm', () => {}))).code).toBe('E_CODEC')
    expect(e.pendingCount()).toBe(0)
  })

  it('a kernel error frame answering our rpc.req rejects that call', async () => {
    const e = engine()
    const s = fakeSession()
    const call = e.requester.request(s, 'm')
    e.requester.onRefused(new EchoError('E_PROTOCOL', "Unknown frame kind 'rpc.req'"), 1, s)
    expect((await rejection(call)).message).toContain('Unknown frame kind')
  })

  it('wraps ids after MAX_ID, skipping ids still waiting', () => {
    const e = engine()
    const s = fakeSession()
    swallow(e.requester.request(s, 'first')) // id 1 stays pending
    e.table.get(s)!.nextId = MAX_ID - 1
    swallow(e.requester.request(s, 'm'))
    swallow(e.requester.request(s, 'm'))
    expect(s.sent.map((f) => f.id)).toEqual([1, MAX_ID, 2])
    e.closeAll('is stopping')
  })

  it('a disconnect rejects every waiting call with E_CLOSED at once and clears its timers', async () => {
    const e = engine()
    const s = fakeSession()
    const other = fakeSession()
    const calls = Array.from({ length: 5 }, () => e.requester.request(s, 'hang'))
    const survivor = e.requester.request(other, 'hang')
    e.onDisconnect(s, { code: 1006, reason: 'connection lost' })
    for (const call of calls) {
      const error = await rejection(call)
      expect(error.code).toBe('E_CLOSED')
      expect(error.message).toContain('1006')
    }
    expect(e.pendingCount(other)).toBe(1)
    e.requester.onResult({ kind: 'rpc.res', id: 1, payload: 'fine' }, other)
    await expect(survivor).resolves.toBe('fine')
  })
})

describe('with a reconnect plugin (suspended sessions)', () => {
  it('sends calls on a suspended session (the kernel queues them); a cancel is queued too', async () => {
    const e = engine()
    const s = fakeSession('suspended')
    const controller = new AbortController()
    const call = e.requester.request(s, 'm', 1, { signal: controller.signal })
    controller.abort()
    expect((await rejection(call)).code).toBe('E_CANCELLED')
    expect(s.sent).toEqual([
      { kind: 'rpc.req', id: 1, name: 'm', payload: 1 },
      { kind: 'rpc.cancel', id: 1 },
    ])
  })

  it('not recovered: calls written to the lost connection fail, calls queued while offline stay for the new session', async () => {
    const e = engine({ role: 'client' })
    const s = fakeSession('open')
    const aborted: string[] = []
    e.responder.methods.add('hang', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push((ctx.signal.reason as EchoError).code))
      return new Promise(() => {})
    })
    e.responder.onRequest(req(1, 'hang'), s)
    const written = e.requester.request(s, 'before')
    s.state = 'suspended' // connection lost, reconnect keeps the session
    const queued = e.requester.request(s, 'offline')
    // The kernel runs `disconnect` for the old session while the object is still suspended.
    e.onDisconnect(s, { code: 1006, reason: 'session not recovered (connection lost)' })
    const error = await rejection(written)
    expect(error.code).toBe('E_CLOSED')
    expect(error.message).toContain('session not recovered')
    expect(aborted).toEqual(['E_CLOSED'])
    expect(e.pendingCount(s)).toBe(1)
    s.state = 'open' // the same object, now the new session; the queued rpc.req reaches the new server
    e.requester.onResult({ kind: 'rpc.res', id: 2, payload: 'answered' }, s)
    await expect(queued).resolves.toBe('answered')
    // ids go on from where they were: no reuse of an id the new peer may already have seen
    swallow(e.requester.request(s, 'next'))
    expect(last(s)!.id).toBe(3)
    e.closeAll('is stopping')
  })

  it('a session that ends while suspended fails everything', async () => {
    const e = engine({ role: 'client' })
    const s = fakeSession('suspended')
    const queued = e.requester.request(s, 'offline')
    s.state = 'closed' // reconnect gave up
    e.onDisconnect(s, { code: 1006, reason: 'gave up' })
    expect((await rejection(queued)).code).toBe('E_CLOSED')
    expect(e.pendingCount()).toBe(0)
  })
})

describe('responder', () => {
  it('answers a sync handler in the same turn, with exactly { kind, id, payload }', () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('add', ({ a, b }: { a: number; b: number }) => a + b)
    e.responder.onRequest(req(7, 'add', { a: 1, b: 2 }), s)
    expect(s.sent).toEqual([{ kind: 'rpc.res', id: 7, payload: 3 }])
    expect(e.runningCount()).toBe(0)
  })

  it('makes no AbortController unless the handler reads ctx.signal', async () => {
    const Original = globalThis.AbortController
    let made = 0
    globalThis.AbortController = class extends Original {
      constructor() {
        super()
        made++
      }
    }
    try {
      const e = engine()
      const s = fakeSession()
      e.responder.methods.add('plain', () => 1)
      e.responder.methods.add('async', async () => 2)
      e.responder.methods.add('reads', (_p, ctx) => (ctx.signal.aborted ? 0 : 3))
      e.responder.onRequest(req(1, 'plain'), s)
      e.responder.onRequest(req(2, 'async'), s)
      await new Promise((r) => setImmediate(r))
      expect(made).toBe(0)
      e.responder.onRequest(req(3, 'reads'), s)
      expect(made).toBe(1)
      expect(s.sent.map((f) => f.payload)).toEqual([1, 2, 3])
    } finally {
      globalThis.AbortController = Original
    }
  })

  it('a signal first read after the abort is already aborted with the reason', () => {
    const ctx = new CallContext(fakeSession(), 'm', 1, undefined, 65536)
    const reason = new EchoError('E_CANCELLED', 'stop')
    ctx.abort(reason)
    expect(ctx.signal.aborted).toBe(true)
    expect(ctx.signal.reason).toBe(reason)
  })

  it('rpc.cancel aborts the running handler (E_CANCELLED) and no reply is sent', async () => {
    const e = engine()
    const s = fakeSession()
    let seen: unknown
    let finish!: () => void
    e.responder.methods.add('slow', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => (seen = ctx.signal.reason))
      return new Promise<string>((resolve) => (finish = () => resolve('late')))
    })
    e.responder.onRequest(req(1, 'slow', undefined, { timeoutMs: 1000 }), s)
    expect(e.runningCount()).toBe(1)
    e.responder.onCancel({ kind: 'rpc.cancel', id: 1 }, s)
    expect((seen as EchoError).code).toBe('E_CANCELLED')
    finish()
    await new Promise((r) => setImmediate(r))
    expect(s.sent).toEqual([])
    expect(e.runningCount()).toBe(0)
    // a cancel for something already answered is ignored; one without an id is a protocol error
    expect(() => e.responder.onCancel({ kind: 'rpc.cancel', id: 1 }, s)).not.toThrow()
    expect(() => e.responder.onCancel({ kind: 'rpc.cancel' }, s)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }))
  })

  it('passes meta.timeoutMs to the handler as ctx.timeoutMs', () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('t', (_p, ctx) => [ctx.timeoutMs ?? null, ctx.method, ctx.session.id])
    e.responder.onRequest(req(1, 't', undefined, { timeoutMs: 250 }), s)
    e.responder.onRequest(req(2, 't'), s)
    expect(s.sent.map((f) => f.payload)).toEqual([
      [250, 't', s.id],
      [null, 't', s.id],
    ])
  })

  it('handler errors cross as code, message and data only', async () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('plain', () => {
      throw new Error('boom')
    })
    e.responder.methods.add('coded', async () => {
      throw new EchoError('E_DIVIDE_BY_ZERO', 'pass a non-zero b', { data: { b: 0 }, cause: new Error('inner') })
    })
    e.responder.methods.add('odd', () => {
      throw 'just a string'
    })
    e.responder.onRequest(req(1, 'plain'), s)
    e.responder.onRequest(req(2, 'coded'), s)
    e.responder.onRequest(req(3, 'odd'), s)
    await new Promise((r) => setImmediate(r))
    expect(s.sent).toEqual([
      { kind: 'rpc.err', id: 1, payload: { code: 'E_INTERNAL', message: 'boom' } },
      { kind: 'rpc.err', id: 3, payload: { code: 'E_INTERNAL', message: 'just a string' } },
      { kind: 'rpc.err', id: 2, payload: { code: 'E_DIVIDE_BY_ZERO', message: 'pass a non-zero b', data: { b: 0 } } },
    ])
    // the plain errors are logged with their stack, on this side only
    expect(logged.some((m) => m.includes('boom') && m.includes('engine.test.ts'))).toBe(true)
  })

  it('exposeErrors: false hides plain error messages but keeps EchoErrors', () => {
    const e = engine({ exposeErrors: false })
    const s = fakeSession()
    e.responder.methods.add('plain', () => {
      throw new Error('password=hunter2')
    })
    e.responder.methods.add('coded', () => {
      throw new EchoError('E_UNAUTHORIZED', 'log in first')
    })
    e.responder.onRequest(req(1, 'plain'), s)
    e.responder.onRequest(req(2, 'coded'), s)
    expect(s.sent[0]!.payload).toEqual({ code: 'E_INTERNAL', message: "The handler of 'plain' failed on the server; the details are in the server's log." })
    expect(s.sent[1]!.payload).toEqual({ code: 'E_UNAUTHORIZED', message: 'log in first' })
  })

  it('answers unknown methods E_METHOD_NOT_FOUND and malformed requests with rpc.err or a thrown E_PROTOCOL', () => {
    const e = engine()
    const s = fakeSession()
    e.responder.onRequest(req(1, 'nope'), s)
    expect(last(s)).toMatchObject({ kind: 'rpc.err', id: 1, payload: { code: 'E_METHOD_NOT_FOUND' } })
    expect((last(s)!.payload as { message: string }).message).toContain("'nope'")
    e.responder.onRequest(req(2, undefined), s)
    expect(last(s)).toMatchObject({ kind: 'rpc.err', id: 2, payload: { code: 'E_PROTOCOL' } })
    // no id: nothing to pair a reply with, so the kernel answers with an `error` frame
    expect(() => e.responder.onRequest(req(undefined, 'm'), s)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }))
    expect(() => e.responder.onRequest({ kind: 'rpc.req', id: 1.5 as number, name: 'm' }, s)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }))
  })

  it('refuses a duplicate id while that request runs', () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('hang', () => new Promise(() => {}))
    e.responder.onRequest(req(1, 'hang'), s)
    e.responder.onRequest(req(1, 'hang'), s)
    expect(last(s)).toMatchObject({ kind: 'rpc.err', id: 1, payload: { code: 'E_PROTOCOL' } })
    expect(e.runningCount()).toBe(1)
  })

  it('bounds running handlers per session with maxConcurrent (E_BUSY)', () => {
    const e = engine({ maxConcurrent: 2 })
    const s = fakeSession()
    e.responder.methods.add('hang', () => new Promise(() => {}))
    e.responder.methods.add('sync', () => 'ok')
    for (const id of [1, 2, 3]) e.responder.onRequest(req(id, 'hang'), s)
    expect(s.sent).toEqual([{ kind: 'rpc.err', id: 3, payload: expect.objectContaining({ code: 'E_BUSY' }) }])
    e.responder.onRequest(req(4, 'sync'), fakeSession()) // another session is not affected
    expect(e.runningCount()).toBe(2)
  })

  it('validates params with the method schema (E_INVALID_PARAMS listing the problems)', () => {
    const e = engine()
    const s = fakeSession()
    let got: unknown
    e.responder.methods.add(
      'add',
      (p) => {
        got = p
        return 'ok'
      },
      {
        schema: {
          type: 'object',
          required: ['a', 'b'],
          additionalProperties: false,
          properties: { a: { type: 'number' }, b: { type: 'number' }, round: { type: 'boolean', default: false } },
        },
      },
    )
    e.responder.onRequest(req(1, 'add', { a: 'x', c: 1 }), s)
    const error = last(s)!.payload as { code: string; message: string; data: { problems: string[] } }
    expect(error.code).toBe('E_INVALID_PARAMS')
    expect(error.message).toContain('params.a must be number')
    expect(error.message).toContain('params.b is required')
    expect(error.message).toContain("unknown property 'c'")
    expect(error.data.problems).toHaveLength(3)
    expect(got).toBeUndefined()
    e.responder.onRequest(req(2, 'add', { a: 1, b: 2 }), s)
    expect(got).toEqual({ a: 1, b: 2, round: false }) // schema defaults fill the params
  })

  it('refuses a bad schema, a duplicate method and bad arguments at handle()', () => {
    const e = engine()
    expect(() => e.responder.methods.add('m', () => 1, { schema: { type: 'nonsense' } })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }))
    e.responder.methods.add('dup', () => 1)
    expect(() => e.responder.methods.add('dup', () => 2)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }))
    expect(() => e.responder.methods.add('', () => 1)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }))
    expect(() => e.responder.methods.add('x', 'not a function' as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }))
  })

  it('the unregister function removes only its own handler, once', () => {
    const e = engine()
    const s = fakeSession()
    const off = e.responder.methods.add('m', () => 1)
    off()
    const again = e.responder.methods.add('m', () => 2)
    off() // stale: must not remove the new handler
    e.responder.onRequest(req(1, 'm'), s)
    expect(last(s)).toEqual({ kind: 'rpc.res', id: 1, payload: 2 })
    again()
    expect(e.responder.methods.names()).toEqual([])
  })

  it('asks the authorizer before the schema and the handler', () => {
    let ran = false
    const e = engine({ authorize: (method) => (method === 'admin' ? new EchoError('E_UNAUTHORIZED', 'admins only') : undefined) })
    const s = fakeSession()
    e.responder.methods.add('admin', () => (ran = true), { schema: { type: 'string' } })
    e.responder.onRequest(req(1, 'admin', 5), s)
    expect(last(s)).toEqual({ kind: 'rpc.err', id: 1, payload: { code: 'E_UNAUTHORIZED', message: 'admins only' } })
    expect(ran).toBe(false)
  })

  it('an authorizer that throws refuses the call (E_INTERNAL) instead of running the handler', () => {
    let ran = false
    const e = engine({
      authorize: () => {
        throw new Error('auth backend down')
      },
    })
    const s = fakeSession()
    e.responder.methods.add('m', () => (ran = true))
    e.responder.onRequest(req(1, 'm'), s)
    expect(last(s)).toEqual({ kind: 'rpc.err', id: 1, payload: { code: 'E_INTERNAL', message: 'auth backend down' } })
    expect(ran).toBe(false)
    expect(logged.some((m) => m.includes('authorize hook failed'))).toBe(true)
  })

    it('a result the codec refuses becomes E_INTERNAL; a closed session gets nothing', async () => {
    const e = engine()
    const s = fakeSession()
    const send = s.send.bind(s)
    s.send = (frame: Frame) => {
      if (frame.kind === 'rpc.res') throw new EchoError('E_CODEC', 'cannot encode a function')
      return send(frame)
    }
    e.responder.methods.add('fn', () => () => {})
    e.responder.onRequest(req(1, 'fn'), s)
    expect(last(s)).toMatchObject({ kind: 'rpc.err', id: 1, payload: { code: 'E_INTERNAL' } })

    const gone = fakeSession()
    let finish!: () => void
    e.responder.methods.add('later', () => new Promise<number>((resolve) => (finish = () => resolve(1))))
    e.responder.onRequest(req(1, 'later'), gone)
    gone.state = 'closed'
    finish()
    await new Promise((r) => setImmediate(r))
    expect(gone.sent).toEqual([])
  })

  it('a disconnect aborts running handlers with E_CLOSED; closeAll does so for every session', () => {
    const e = engine()
    const a = fakeSession()
    const b = fakeSession()
    const reasons: Array<[string, string]> = []
    e.responder.methods.add('hang', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => reasons.push([ctx.session.id, (ctx.signal.reason as EchoError).code]))
      return new Promise(() => {})
    })
    e.responder.onRequest(req(1, 'hang'), a)
    e.responder.onRequest(req(1, 'hang'), b)
    e.onDisconnect(a, { code: 1006, reason: 'gone' })
    expect(reasons).toEqual([[a.id, 'E_CLOSED']])
    e.closeAll('is stopping')
    expect(reasons).toEqual([
      [a.id, 'E_CLOSED'],
      [b.id, 'E_CLOSED'],
    ])
  })
})

describe('two engines, frames relayed in memory', () => {
  /** Links two fake sessions so each one's sends reach the other engine (asynchronously, as a socket would). */
  function link(left: RpcEngine, right: RpcEngine): [FakeSession, FakeSession] {
    const a = fakeSession()
    const b = fakeSession()
    const relay = (to: RpcEngine, session: FakeSession) => (frame: Frame): number => {
      queueMicrotask(() => {
        if (frame.kind === 'rpc.req') to.responder.onRequest(frame, session)
        else if (frame.kind === 'rpc.res') to.requester.onResult(frame, session)
        else if (frame.kind === 'rpc.err') to.requester.onError(frame, session)
        else if (frame.kind === 'rpc.cancel') to.responder.onCancel(frame, session)
      })
      return 1
    }
    a.send = relay(right, b)
    b.send = relay(left, a)
    return [a, b]
  }

  it('ids are per direction: both sides may use the same id at once', async () => {
    const server = engine()
    const client = engine({ role: 'client' })
    const [toServer, toClient] = link(client, server)
    server.responder.methods.add('who', () => 'server')
    client.responder.methods.add('who', () => 'client')
    const [x, y] = await Promise.all([client.requester.request(toServer, 'who'), server.requester.request(toClient, 'who')])
    expect([x, y]).toEqual(['server', 'client'])
  })
})
