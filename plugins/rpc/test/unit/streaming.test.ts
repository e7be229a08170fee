/**
 * Streaming calls frame by frame, with fake sessions (each frame costs 1 byte of credit here): the
 * credit rule on both ends, the frames a streaming handler and a streaming caller send, and what a
 * peer that breaks the rule gets. The network behaviour is proven in test/integration/rpc-streaming*.
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type Frame, type Logger } from '@echostream/kernel'
import { RpcEngine } from '../../src/engine.js'
import { ItemQueue } from '../../src/item-queue.js'
import { Producer } from '../../src/producer.js'
import type { RpcStream } from '../../src/types.js'
import { fakeSession } from './fake-session.js'

const logger: Logger = { info() {}, warn() {}, error() {} }
const tick = () => new Promise((resolve) => setImmediate(resolve))

function engine(): RpcEngine {
  return new RpcEngine({ defaultTimeoutMs: 30_000, maxPending: 100, maxConcurrent: 100, exposeErrors: true, role: 'server', logger })
}

const kinds = (frames: Frame[]) => frames.map((f) => `${f.kind}${f.payload === undefined ? '' : ` ${JSON.stringify(f.payload)}`}`)

describe('ItemQueue (receiving end)', () => {
  it('grants window more once half of it is consumed, and refuses an item sent without credit', async () => {
    const grants: number[] = []
    const q = new ItemQueue<number>(4, { credit: (m) => grants.push(m), cancel() {} })
    for (let i = 0; i < 4; i++) expect(q.push(i, 1)).toBe(true)
    expect(q.push(4, 1)).toBe(false) // received 4 >= maxOffset 4
    expect((await q.next()).value).toBe(0)
    expect(grants).toEqual([])
    expect((await q.next()).value).toBe(1) // consumed 2: half the window
    expect(grants).toEqual([6])
    expect(q.buffered).toBe(2)
  })

  it('delivers items that arrived before an error, then throws it once', async () => {
    const q = new ItemQueue<number>(10, { credit() {}, cancel() {} })
    q.push(1, 1)
    q.push(2, 1)
    q.fail(new EchoError('E_X', 'x'))
    expect((await q.next()).value).toBe(1)
    expect((await q.next()).value).toBe(2)
    await expect(q.next()).rejects.toMatchObject({ code: 'E_X' })
    expect(await q.next()).toEqual({ value: undefined, done: true })
  })

  it('return() before the end cancels once and drops what is buffered', async () => {
    let cancels = 0
    const q = new ItemQueue<number>(10, { credit() {}, cancel: () => cancels++ })
    q.push(1, 1)
    await q.return()
    await q.return()
    expect(cancels).toBe(1)
    expect(await q.next()).toEqual({ value: undefined, done: true })
  })
})

describe('Producer (sending end)', () => {
  it('pulls only while sent < credit, resumes on a larger grant, ignores stale grants', async () => {
    let pulled = 0
    async function* source() {
      for (;;) yield ++pulled
    }
    const sent: unknown[] = []
    const p = new Producer(source(), 3, { blocked: () => undefined, send: (item) => (sent.push(item), 1), end() {}, fail() {} })
    p.start()
    await tick()
    expect(sent).toEqual([1, 2, 3])
    expect(pulled).toBe(3)
    p.onCredit(2) // stale
    await tick()
    expect(sent).toHaveLength(3)
    p.onCredit(5)
    await tick()
    expect(sent).toEqual([1, 2, 3, 4, 5])
    p.stop()
  })

  it('waits while blocked (session suspended), then carries on', async () => {
    let release!: () => void
    let blocked: Promise<void> | undefined = new Promise((r) => (release = r))
    const sent: unknown[] = []
    async function* source() {
      yield 'a'
      yield 'b'
    }
    let ended = false
    const p = new Producer(source(), 10, { blocked: () => blocked, send: (item) => (sent.push(item), 1), end: () => (ended = true), fail() {} })
    p.start()
    await tick()
    expect(sent).toEqual([])
    blocked = undefined
    release()
    await tick()
    expect(sent).toEqual(['a', 'b'])
    expect(ended).toBe(true)
  })
})

describe('engine: streaming frames', () => {
  it('a streaming handler sends rpc.item within the meta.window credit, then rpc.end with its return value', async () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('count', async function* (n: number) {
      for (let i = 0; i < n; i++) yield i
      return 'done'
    })
    e.responder.onRequest({ kind: 'rpc.req', id: 1, name: 'count', payload: 5, meta: { window: 2 } }, s)
    await tick()
    expect(kinds(s.sent)).toEqual(['rpc.item 0', 'rpc.item 1'])
    e.responder.onCredit({ kind: 'rpc.credit', id: 1, payload: 4 }, s)
    await tick()
    expect(kinds(s.sent)).toEqual(['rpc.item 0', 'rpc.item 1', 'rpc.item 2', 'rpc.item 3'])
    e.responder.onCredit({ kind: 'rpc.credit', id: 1, payload: 100 }, s)
    await tick()
    expect(kinds(s.sent).slice(4)).toEqual(['rpc.item 4', 'rpc.end "done"'])
    expect(e.runningCount()).toBe(0)
  })

  it('rpc.cancel stops the generator (its finally runs) and nothing more is sent', async () => {
    const e = engine()
    const s = fakeSession()
    let closed = false
    e.responder.methods.add('endless', async function* () {
      try {
        for (let i = 0; ; i++) yield i
      } finally {
        closed = true
      }
    })
    e.responder.onRequest({ kind: 'rpc.req', id: 3, name: 'endless', meta: { window: 2 } }, s)
    await tick()
    e.responder.onCancel({ kind: 'rpc.cancel', id: 3 }, s)
    await tick()
    expect(closed).toBe(true)
    e.responder.onCredit({ kind: 'rpc.credit', id: 3, payload: 10 }, s)
    await tick()
    expect(kinds(s.sent)).toEqual(['rpc.item 0', 'rpc.item 1'])
  })

  it('the caller grants rpc.credit as it reads, cancels when it leaves the loop, and fails a call whose peer overruns its credit', async () => {
    const e = engine()
    const s = fakeSession()
    const stream = e.requester.stream(s, 'tokens', undefined, { windowBytes: 4 }) as RpcStream<string>
    expect(s.sent[0]).toEqual({ kind: 'rpc.req', id: 1, name: 'tokens', payload: undefined, meta: { window: 4 } })
    for (const t of ['a', 'b', 'c', 'd']) e.requester.onItem({ kind: 'rpc.item', id: 1, payload: t }, s, 1)
    expect((await stream.next()).value).toBe('a')
    expect((await stream.next()).value).toBe('b')
    expect(s.sent[1]).toEqual({ kind: 'rpc.credit', id: 1, payload: 6 })
    await stream.return()
    expect(s.sent[2]).toEqual({ kind: 'rpc.cancel', id: 1 })

    const over = e.requester.stream(s, 'tokens', undefined, { windowBytes: 2 }) as RpcStream<string>
    for (const t of ['a', 'b', 'c']) e.requester.onItem({ kind: 'rpc.item', id: 2, payload: t }, s, 1)
    expect(s.sent.at(-1)).toEqual({ kind: 'rpc.cancel', id: 2 })
    await expect(over.result).rejects.toMatchObject({ code: 'E_FLOW_CONTROL' })
  })

  it('a caller with an async-iterable input sends rpc.req with meta.input, rpc.in within the default credit, then rpc.inend', async () => {
    const e = engine()
    const s = fakeSession()
    async function* input() {
      yield 1
      yield 2
    }
    const call = e.requester.request(s, 'sum', input())
    await tick()
    expect(kinds(s.sent)).toEqual(['rpc.req', 'rpc.in 1', 'rpc.in 2', 'rpc.inend'])
    expect(s.sent[0]!.meta).toEqual({ input: 1 })
    e.requester.onResult({ kind: 'rpc.res', id: 1, payload: 3 }, s)
    expect(await call).toBe(3)
  })

  it('a handler reading streamed input grants rpc.incredit and answers; rpc.in on a call without input is a protocol error', async () => {
    const e = engine()
    const s = fakeSession()
    e.responder.methods.add('sum', async (input: AsyncIterable<number>) => {
      let total = 0
      for await (const n of input) total += n
      return total
    })
    e.responder.onRequest({ kind: 'rpc.req', id: 1, name: 'sum', meta: { input: 1 } }, s)
    for (let i = 1; i <= 40_000; i++) e.responder.onInput({ kind: 'rpc.in', id: 1, payload: 1 }, s, 1)
    await tick()
    // 40,000 of the 65,536 bytes consumed: past half the window, so more was granted.
    expect(s.sent.filter((f) => f.kind === 'rpc.incredit').map((f) => f.payload)).toEqual([32_768 + 65_536])
    e.responder.onInputEnd({ kind: 'rpc.inend', id: 1 }, s)
    await tick()
    expect(s.sent.at(-1)).toEqual({ kind: 'rpc.res', id: 1, payload: 40_000 })
    e.responder.methods.add('plain', async () => new Promise(() => {}))
    e.responder.onRequest({ kind: 'rpc.req', id: 2, name: 'plain' }, s)
    expect(() => e.responder.onInput({ kind: 'rpc.in', id: 2, payload: 1 }, s, 1)).toThrow(/no streamed input/)
    e.onDisconnect(s, { code: 1000, reason: 'test' })
  })
})
