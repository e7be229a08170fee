/**
 * The handshake refuses peers that cannot talk to this server, clearly and without a session: a
 * different protocol version, a different codec, a wire plugin the server lacks or speaks in
 * another version. A compatible client connected throughout is not affected.
 */
import { describe, expect, it } from 'vitest'
import { CloseCodes, PROTOCOL_VERSION } from '@echostream/kernel'
import { createClient } from '../helpers/create.js'
import { track } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, HELLO, rawClient, rejection, startClient, startServer, transportWs } from '../helpers/wire.js'

describe('handshake', () => {
  it('welcomes a compatible client with a session id and the server wire plugins', async () => {
    const { server, probe } = await startServer()
    const raw = await rawClient(server.url!)
    const welcome = await raw.hello({ ...HELLO, plugins: { probe: 1 } })
    expect(welcome[0]).toBe('welcome')
    const payload = welcome[3] as { sessionId: string; protocol: number; plugins: Record<string, number> }
    expect(payload.protocol).toBe(PROTOCOL_VERSION)
    expect(payload.plugins).toEqual({ probe: 1 })
    expect(server.sessions().map((s) => s.id)).toEqual([payload.sessionId])
    expect(probe.connects).toEqual([payload.sessionId])
  })

  it.each([
    { name: 'protocol 99', hello: { ...HELLO, protocol: 99 }, says: [/protocol 99/, /speaks 2/] },
    // A v1 client's hello exactly (no `limits`): refused for its version, not as malformed.
    { name: 'a v1 hello', hello: { protocol: 1, codec: 'msgpack', plugins: {} }, says: [/protocol 1/, /speaks 2/, /upgrade/] },
    { name: 'another codec', hello: { ...HELLO, codec: 'json' }, says: [/'json'/, /'msgpack'/, /same codec/] },
    { name: 'a wire plugin the server lacks', hello: { ...HELLO, plugins: { probe: 1, streams: 1 } }, says: [/'streams'/, /does not load/] },
    { name: 'a different wire version of a plugin', hello: { ...HELLO, plugins: { probe: 2 } }, says: [/'probe'/, /wire 2/, /1 on the server/] },
  ])('a raw client with $name gets E_INCOMPATIBLE, a 4001 close and no session', async ({ hello, says }) => {
    const { server, probe } = await startServer()
    const { client, probe: clientProbe } = await startClient(server.url!)
    const before = server.sessions().map((s) => s.id)
    const connectsBefore = probe.connects.length

    const raw = await rawClient(server.url!)
    const answer = await raw.hello(hello)
    expect(answer[0]).toBe('error')
    const error = answer[3] as { code: string; message: string }
    expect(error.code).toBe('E_INCOMPATIBLE')
    for (const pattern of says) expect(error.message).toMatch(pattern)
    const close = await raw.closed
    expect(close.code).toBe(CloseCodes.incompatible)
    expect(close.reason).toMatch(/^E_INCOMPATIBLE/)

    // No session was made: not listed, `connect` never ran for it, nothing to disconnect.
    expect(server.sessions().map((s) => s.id)).toEqual(before)
    expect(probe.connects.length).toBe(connectsBefore)
    expect(probe.disconnects).toEqual([])
    const pong = await clientProbe.ping(client.session!, 'still here')
    expect(pong.payload).toBe('still here')
  })

  it.each(['', 'a', 'aa'])('a refusal whose reason is long non-ASCII text still closes with its code (alignment %#)', async (pad) => {
    const { server } = await startServer()
    const raw = await rawClient(server.url!)
    // The peer controls the plugin names quoted in the refusal: a reason beyond 123 bytes must be cut safely.
    const answer = await raw.hello({ ...HELLO, plugins: { [pad + 'é'.repeat(100)]: 1 } })
    expect(answer[3]).toMatchObject({ code: 'E_INCOMPATIBLE' })
    const close = await raw.closed
    expect(close.code).toBe(CloseCodes.incompatible)
    expect(close.reason).toMatch(/^E_INCOMPATIBLE: .*\.\.\.$/)
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(123)
    expect(close.reason).not.toContain('\ufffd')
  })

  it('an echostream client whose plugin speaks another wire version: start() fails with E_INCOMPATIBLE', async () => {
    const { server, probe } = await startServer()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, createProbe({ wire: 2 }).plugin] }))
    const error = await rejection(client.start())
    expect(error.code).toBe('E_INCOMPATIBLE')
    expect(error.message).toMatch(/plugin 'probe' speaks wire 2 on the client but 1 on the server/)
    expect(error.message).toMatch(/Load the same plugins/)
    expect(client.state).toBe('stopped')
    expect(client.sessions()).toEqual([])
    expect(server.sessions()).toEqual([])
    expect(probe.connects).toEqual([])
  })

  it('an echostream client with a wire plugin the server lacks: start() fails with a clear error naming it', async () => {
    const { server } = await startServer()
    const { client: good, probe: goodProbe } = await startClient(server.url!)
    const extra = createProbe({ name: 'chat' })
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, createProbe().plugin, extra.plugin] }))
    const error = await rejection(client.start())
    expect(error.code).toBe('E_INCOMPATIBLE')
    expect(error.message).toMatch(/the client uses plugin 'chat' \(wire 1\), which this server does not load/)
    expect(client.state).toBe('stopped')
    expect(server.sessions().map((s) => s.id)).toEqual([good.session!.id])
    expect((await goodProbe.ping(good.session!, 1)).payload).toBe(1)
  })

  it('sessions whose hellos are equal share one frozen session.handshake (with flags too); a hello with a string field keeps its own', async () => {
    const { server } = await startServer()
    const flagged = { ...HELLO, streams: { fence: true }, n: 1 }
    const hellos = [HELLO, HELLO, { ...HELLO, app: 'v2' }, { ...HELLO, app: 'v2' }, flagged, flagged]
    const ids: string[] = []
    for (const hello of hellos) ids.push(((await (await rawClient(server.url!)).hello(hello))[3] as { sessionId: string }).sessionId)
    const handshake = (id: string) => server.sessions().find((s) => s.id === id)!.handshake
    const [a, b, c, d, e, f] = ids.map(handshake)
    expect(a).toEqual({ protocol: 2, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1048576 } })
    expect(b).toBe(a)
    expect(Object.isFrozen(a)).toBe(true)
    expect(c).toEqual({ ...a, app: 'v2' })
    expect(d).not.toBe(c)
    expect(Object.isFrozen(c) && Object.isFrozen(d)).toBe(true)
    // The shared parts stay shared either way.
    expect(c!.plugins).toBe(a!.plugins)
    expect(d!.limits).toBe(a!.limits)
    // Flags (booleans, numbers, an object of them) are shared, frozen all the way down.
    expect(e).toEqual({ ...a, streams: { fence: true }, n: 1 })
    expect(f).toBe(e)
    expect(Object.isFrozen(e!.streams)).toBe(true)
  })

  it('a server may load wire plugins its clients do not use', async () => {
    const { server } = await startServer({ plugins: [createProbe({ name: 'extra' }).plugin] })
    const { client, probe } = await startClient(server.url!)
    expect(client.session!.handshake).toMatchObject({ plugins: { probe: 1, extra: 1 } })
    expect((await probe.ping(client.session!, 'ok')).payload).toBe('ok')
  })

  it('a client of something that is not an echostream server fails start() with E_CLOSED, not a hang', async () => {
    const client = track(await createClient({ url: 'ws://127.0.0.1:1', plugins: [transportWs, codecMsgpack] }))
    const error = await rejection(client.start())
    expect(error.code).toBe('E_CLOSED')
    expect(error.message).toMatch(/ws:\/\/127\.0\.0\.1:1/)
    expect(error.retryable).toBe(true)
  })
})
