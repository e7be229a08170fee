/**
 * The rpc frames as they travel (README "Wire frames"), checked against a raw `ws` + msgpackr peer
 * that is not an echostream client: the frames the server sends, the replies it accepts, and
 * malformed rpc frames, which get an `error` or `rpc.err` reply while the session (and another,
 * real client) keep working.
 */
import { describe, expect, it } from 'vitest'
import { type EchoKernel } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { RPC_WIRE_VERSION } from '@echostream/plugin-rpc'
import { track, until } from '../helpers/fixtures.js'
import { rawClient, rejection, type RawClient, type WireFrame } from '../helpers/wire.js'

const plugins = [transportWs, codecMsgpack, rpc]

async function setup(): Promise<{ server: EchoKernel; raw: RawClient; rawSessionId: string }> {
  const server = track(await createServer({ plugins }))
  server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b, {
    schema: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'number' }, b: { type: 'number' } } },
  })
  await server.start()
  const raw = await rawClient(server.url!)
  const welcome = await raw.hello({ protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: { rpc: RPC_WIRE_VERSION } })
  expect(welcome[0]).toBe('welcome')
  return { server, raw, rawSessionId: (welcome[3] as { sessionId: string }).sessionId }
}

/** The frames received after index `from`, waiting until there are `count` of them. */
async function framesAfter(raw: RawClient, from: number, count: number): Promise<WireFrame[]> {
  await until(() => raw.messages.length >= from + count, 5000, `${count} frame(s)`)
  return raw.messages.slice(from, from + count) as WireFrame[]
}

describe('rpc wire frames', () => {
  it('sends rpc.req [kind, id, name, payload, meta?] and takes rpc.res / rpc.err replies from any implementation', async () => {
    const { server, raw, rawSessionId } = await setup()
    const session = server.getSession(rawSessionId)!

    let from = raw.messages.length
    const first = session.request('client.echo', { n: 1 }, { timeoutMs: 5000 })
    expect(await framesAfter(raw, from, 1)).toEqual([['rpc.req', 1, 'client.echo', { n: 1 }, { timeoutMs: 5000 }]])
    raw.send(['rpc.res', 1, null, 'hi'])
    expect(await first).toBe('hi')

    from = raw.messages.length
    const second = session.request('client.fail')
    expect(await framesAfter(raw, from, 1)).toEqual([['rpc.req', 2, 'client.fail']])
    raw.send(['rpc.err', 2, null, { code: 'E_NOPE', message: 'No, and here is why.', data: [1, 2] }])
    const error = await rejection(second)
    expect([error.code, error.message, error.data]).toEqual(['E_NOPE', 'No, and here is why.', [1, 2]])

    // A late reply (id 2 is settled) and a reply to an id never sent are ignored, silently.
    from = raw.messages.length
    raw.send(['rpc.res', 2, null, 'late'])
    raw.send(['rpc.err', 77, null, 'garbage'])
    const third = session.request('client.echo', 3)
    const [req3] = await framesAfter(raw, from, 1)
    expect(req3).toEqual(['rpc.req', 3, 'client.echo', 3])
    raw.send(['rpc.res', 3])
    expect(await third).toBeUndefined()
  })

  it('sends rpc.cancel [kind, id] when a call times out or its signal aborts', async () => {
    const { server, raw, rawSessionId } = await setup()
    const session = server.getSession(rawSessionId)!
    const from = raw.messages.length
    const timedOut = session.request('client.slow', null, { timeoutMs: 50 })
    expect((await rejection(timedOut)).code).toBe('E_TIMEOUT')
    const controller = new AbortController()
    const cancelled = session.request('client.slow', null, { signal: controller.signal })
    await framesAfter(raw, from, 3)
    controller.abort()
    expect((await rejection(cancelled)).code).toBe('E_CANCELLED')
    expect(await framesAfter(raw, from, 4)).toEqual([
      ['rpc.req', 1, 'client.slow', null, { timeoutMs: 50 }],
      ['rpc.cancel', 1],
      ['rpc.req', 2, 'client.slow', null],
      ['rpc.cancel', 2],
    ])
  })

  it('answers rpc.req with rpc.res [kind, id, nil, result] and rpc.err [kind, id, nil, {code, message}]', async () => {
    const { raw } = await setup()
    const from = raw.messages.length
    raw.send(['rpc.req', 10, 'math.add', { a: 1, b: 2 }])
    raw.send(['rpc.req', 11, 'no.such'])
    const [res, err] = await framesAfter(raw, from, 2)
    expect(res).toEqual(['rpc.res', 10, null, 3])
    expect(err).toEqual(['rpc.err', 11, null, { code: 'E_METHOD_NOT_FOUND', message: expect.stringContaining("'no.such'"), data: { method: 'no.such' } }])
  })

  it('malformed rpc frames get an error or rpc.err reply; the session and another client keep working', async () => {
    const { server, raw, rawSessionId } = await setup()
    const other = track(await createClient({ url: server.url, plugins }))
    await other.start()

    const from = raw.messages.length
    raw.send(['rpc.req', null, 'math.add', { a: 1, b: 2 }]) // no id: nothing to pair a reply with
    raw.send(['rpc.req', 5]) // no method name
    raw.send(['rpc.req', 6, 'math.add', 'not an object']) // params the schema refuses
    raw.send(['rpc.res']) // reply without an id
    raw.send(['rpc.cancel']) // cancel without an id
    raw.send(['rpc.cancel', 12345]) // cancel for nothing: ignored
    raw.send(['rpc.req', 7, 'math.add', { a: 40, b: 2 }]) // still served
    const frames = await framesAfter(raw, from, 6)
    expect(frames[0]).toEqual(['error', null, null, expect.objectContaining({ code: 'E_PROTOCOL', re: 'rpc.req', message: expect.stringContaining('needs an id') })])
    expect(frames[1]).toEqual(['rpc.err', 5, null, expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('method name') })])
    expect(frames[2]).toEqual(['rpc.err', 6, null, expect.objectContaining({ code: 'E_INVALID_PARAMS' })])
    expect(frames[3]).toEqual(['error', null, null, expect.objectContaining({ code: 'E_PROTOCOL', re: 'rpc.res' })])
    expect(frames[4]).toEqual(['error', null, null, expect.objectContaining({ code: 'E_PROTOCOL', re: 'rpc.cancel' })])
    expect(frames[5]).toEqual(['rpc.res', 7, null, 42])
    await new Promise((r) => setTimeout(r, 50))
    expect(raw.messages.length).toBe(from + 6) // the cancel for nothing got no answer
    expect(raw.closeInfo).toBeUndefined()
    expect(server.getSession(rawSessionId)?.state).toBe('open')
    expect(await other.rpc.request('math.add', { a: 1, b: 1 })).toBe(2)
  })
})
