/**
 * Untrusted bytes from the network (DESIGN "Frames"): each bad input, sent over a raw ws client to a
 * running server, gets a protocol error frame or a close with a code and reason for that session
 * only, while a real echostream client connected throughout keeps working.
 */
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { CloseCodes, definePlugin, type EchoKernel } from '@echostream/kernel'
import { until } from '../helpers/fixtures.js'
import { HELLO, rawClient, startClient, startServer, type Probe, type RawClient, type WireFrame } from '../helpers/wire.js'

const MAX_PAYLOAD = 4096

interface Outcome {
  /** The error frame the server answered with, if any. */
  error?: WireFrame
  /** The close, if the server closed the session. */
  close?: { code: number; reason: string }
}

interface BadInput {
  name: string
  /** Whether the raw client completes the handshake before misbehaving. */
  handshake: boolean
  /** Whether the server must close the session (then the test waits for the close). */
  closes: boolean
  send(raw: RawClient): void
  check(outcome: Outcome, raw: RawClient): void
}

const cases: BadInput[] = [
  {
    name: 'bytes that are not MessagePack (0xc1), before the handshake',
    closes: true,
    handshake: false,
    send: (raw) => raw.send(Buffer.from([0xc1])),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_CODEC' })
      expect(close?.code).toBe(CloseCodes.protocol)
      expect(close?.reason).toMatch(/E_CODEC/)
    },
  },
  {
    name: 'bytes that are not MessagePack (0xc1 inside a frame), after the handshake',
    closes: false,
    handshake: true,
    // ['probe.ping', 1, nil, <0xc1>]: a valid frame shape around a byte MessagePack never uses
    send: (raw) => raw.send(Buffer.from('94aa70726f62652e70696e6701c0c1', 'hex')),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_CODEC' })
      expect(close).toBeUndefined()
    },
  },
  {
    name: 'truncated MessagePack, after the handshake',
    closes: false,
    handshake: true,
    send: (raw) => raw.send(Buffer.from('94aa70726f6265', 'hex')),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_CODEC', message: expect.stringMatching(/MessagePack/) })
      expect(close).toBeUndefined()
    },
  },
  {
    name: 'a MessagePack value that is not a frame (a map), after the handshake',
    closes: false,
    handshake: true,
    send: (raw) => raw.send(pack({ kind: 'probe.ping' })),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/not an echostream frame/i) })
      expect(close).toBeUndefined()
    },
  },
  {
    name: 'a frame whose id is not an integer, after the handshake',
    closes: false,
    handshake: true,
    send: (raw) => raw.send(['probe.ping', 'one', null, 1]),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/id/) })
      expect(close).toBeUndefined()
    },
  },
  {
    name: 'a MessagePack value that is not a frame, before the handshake',
    closes: true,
    handshake: false,
    send: (raw) => raw.send(pack(42)),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL' })
      expect(close?.code).toBe(CloseCodes.protocol)
    },
  },
  {
    name: 'an unknown frame kind, after the handshake',
    closes: false,
    handshake: true,
    send: (raw) => raw.send(['nope.what', 7, null, { x: 1 }]),
    check({ error, close }) {
      expect(error?.[1]).toBe(7) // echoes the offending frame's id
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', re: 'nope.what', message: expect.stringContaining("'nope.what'") })
      expect(close).toBeUndefined()
    },
  },
  {
    name: 'a message over maxPayload, after the handshake',
    closes: true,
    handshake: true,
    send: (raw) => raw.send(pack(['probe.ping', 1, null, Buffer.alloc(MAX_PAYLOAD * 2)])),
    check({ close }) {
      expect(close?.code).toBe(CloseCodes.tooLarge)
    },
  },
  {
    name: 'a message over maxPayload, before the handshake',
    closes: true,
    handshake: false,
    send: (raw) => raw.send(Buffer.alloc(MAX_PAYLOAD + 1)),
    check({ close }) {
      expect(close?.code).toBe(CloseCodes.tooLarge)
    },
  },
  {
    name: 'a frame before the handshake',
    closes: true,
    handshake: false,
    send: (raw) => raw.send(['probe.ping', 1, null, 'hi']),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/first frame must be 'hello'/) })
      expect(close?.code).toBe(CloseCodes.protocol)
    },
  },
  {
    name: "a frame pipelined right after 'hello', before 'welcome' arrived",
    closes: true,
    handshake: false,
    send(raw) {
      raw.send(['hello', null, null, { protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: {} }])
      raw.send(['probe.ping', 1, null, 'too early'])
    },
    check({ error, close }, raw) {
      expect(raw.messages.some((m) => Array.isArray(m) && m[0] === 'probe.pong')).toBe(false)
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/before 'welcome'/) })
      expect(close?.code).toBe(CloseCodes.protocol)
    },
  },
  {
    name: "a malformed 'hello'",
    closes: true,
    handshake: false,
    send: (raw) => raw.send(['hello', null, null, { protocol: '1' }]),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/Malformed 'hello'/) })
      expect(close?.code).toBe(CloseCodes.protocol)
    },
  },
  {
    name: "a second 'hello' after the handshake",
    closes: false,
    handshake: true,
    send: (raw) => raw.send(['hello', null, null, { protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: {} }]),
    check({ error, close }) {
      expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL' })
      expect(close).toBeUndefined()
    },
  },
]

/** Runs one bad input against the server and waits for its outcome. */
async function misbehave(server: EchoKernel, serverProbe: Probe, input: BadInput): Promise<{ outcome: Outcome; raw: RawClient }> {
  const raw = await rawClient(server.url!)
  if (input.handshake) {
    const welcome = await raw.hello()
    expect(welcome[0]).toBe('welcome')
  }
  const from = raw.messages.length
  const errorsBefore = serverProbe.protocolErrors.length
  input.send(raw)
  // Either an error frame or a close must come; the server's protocolError hook sees the error.
  if (input.closes) await until(() => raw.closeInfo !== undefined, 5000, 'the server to close the session')
  else {
    await until(() => raw.messages.length > from || raw.closeInfo !== undefined, 5000, 'an error frame')
    await new Promise((r) => setTimeout(r, 50)) // a close that should not come would show here
  }
  const error = raw.messages.slice(from).find((m): m is WireFrame => Array.isArray(m) && m[0] === 'error')
  if (error) await until(() => serverProbe.protocolErrors.length > errorsBefore, 2000, 'the protocolError hook')
  return { outcome: { error, close: raw.closeInfo }, raw }
}

/** The good client still round-trips, on the same session, and the server still lists it. */
async function stillWorks(server: EchoKernel, client: EchoKernel, clientProbe: Probe, sessionId: string, n: number): Promise<void> {
  expect(client.session?.id).toBe(sessionId)
  expect(client.session?.state).toBe('open')
  const pong = await clientProbe.ping(client.session!, { n, bytes: new Uint8Array([n, 255]) })
  expect(pong.payload).toMatchObject({ n })
  expect([...((pong.payload as { bytes: Uint8Array }).bytes)]).toEqual([n, 255])
  expect(server.sessions().map((s) => s.id)).toContain(sessionId)
}

describe('bad input from the network', () => {
  it.each(cases)('$name', async (input) => {
    const { server, probe: serverProbe } = await startServer({ transport: { maxPayload: MAX_PAYLOAD } })
    const { client, probe: clientProbe } = await startClient(server.url!)
    const sessionId = client.session!.id
    await stillWorks(server, client, clientProbe, sessionId, 1)

    const { outcome, raw } = await misbehave(server, serverProbe, input)
    input.check(outcome, raw)

    if (outcome.close) {
      // The misbehaving session is gone on the server; if it had connected, `disconnect` ran with the reason.
      await until(() => server.sessions().length === 1, 5000, 'the bad session to be dropped')
      if (input.handshake) {
        await until(() => serverProbe.disconnects.some((d) => d.id !== sessionId), 5000, 'disconnect for the bad session')
        const gone = serverProbe.disconnects.find((d) => d.id !== sessionId)!
        expect(gone.info.code).toBe(outcome.close.code)
        expect(gone.info.reason).not.toBe('')
      }
    } else {
      // Not closed: the misbehaving session itself is still usable.
      expect(server.sessions()).toHaveLength(2)
      const from = raw.messages.length
      raw.send(['probe.ping', 99, null, 'after'])
      const pong = await raw.frame('probe.pong', from)
      expect(pong[1]).toBe(99)
      expect(pong[3]).toBe('after')
    }
    expect(serverProbe.disconnects.map((d) => d.id)).not.toContain(sessionId)
    await stillWorks(server, client, clientProbe, sessionId, 2)
  })

  it('survives every bad input in a row on one server, with one client connected throughout', async () => {
    const { server, probe: serverProbe } = await startServer({ transport: { maxPayload: MAX_PAYLOAD } })
    const { client, probe: clientProbe } = await startClient(server.url!)
    const sessionId = client.session!.id
    let n = 0
    for (const input of cases) {
      const { outcome, raw } = await misbehave(server, serverProbe, input)
      input.check(outcome, raw)
      raw.ws.terminate()
      await stillWorks(server, client, clientProbe, sessionId, ++n)
    }
    await until(() => server.sessions().length === 1, 5000, 'only the good session to remain')
    expect(server.state).toBe('started')
    expect(clientProbe.disconnects).toEqual([])
  })

  it('closes a peer that never sends hello after the handshake deadline, and only that peer', async () => {
    const { server } = await startServer({ handshakeTimeoutMs: 300 })
    const { client, probe: clientProbe } = await startClient(server.url!)
    const raw = await rawClient(server.url!)
    const close = await raw.closed
    expect(close.code).toBe(CloseCodes.handshakeTimeout)
    expect(close.reason).toMatch(/hello/)
    const error = raw.messages.find((m): m is WireFrame => Array.isArray(m) && m[0] === 'error')
    expect(error?.[3]).toMatchObject({ code: 'E_PROTOCOL' })
    await stillWorks(server, client, clientProbe, client.session!.id, 3)
  })

  it('a frame that makes a server plugin tap throw gets E_INTERNAL for that frame; process and sessions live on', async () => {
    // A buggy plugin: its taps throw on input the peer controls.
    const fragile = definePlugin({
      name: 'fragile',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.inbound.tap('fragile', (frame) => {
          if (frame?.payload === 'boom') throw new Error('fragile cannot parse boom')
          return frame
        })
        kernel.hooks.welcome.tap('fragile', (welcome, session) => {
          if (session.handshake.boom) throw new Error('fragile cannot welcome boom')
          return welcome
        })
      },
    })
    const fragileRoute = definePlugin({
      name: 'fragile-route',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.route('fragile.cmd', {
          handler() {},
          onError() {
            throw new Error('fragile cannot handle the error frame')
          },
        })
      },
    })
    const { server, probe: serverProbe } = await startServer({ plugins: [fragile, fragileRoute] })
    const { client, probe: clientProbe } = await startClient(server.url!)
    const sessionId = client.session!.id

    const raw = await rawClient(server.url!)
    await raw.hello()
    const from = raw.messages.length
    raw.send(['probe.ping', 5, null, 'boom'])
    const error = await raw.frame('error', from)
    expect(error[1]).toBe(5)
    expect(error[3]).toMatchObject({ code: 'E_INTERNAL', re: 'probe.ping', message: expect.stringContaining('fragile cannot parse boom') })
    // An error frame from the peer whose handler throws: logged, nothing else happens.
    raw.send(['error', 9, null, { code: 'E_X', message: 'x', re: 'fragile.cmd' }])
    raw.send(['probe.ping', 6, null, 'fine'])
    expect((await raw.frame('probe.pong', from))[3]).toBe('fine')

    // A throwing handshake tap refuses that peer (1011) instead of crashing the server.
    const refused = await rawClient(server.url!)
    const answer = await refused.hello({ ...HELLO, boom: true })
    expect(answer[0]).toBe('error')
    expect(answer[3]).toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('fragile cannot welcome boom') })
    expect((await refused.closed).code).toBe(CloseCodes.internalError)

    await stillWorks(server, client, clientProbe, sessionId, 4)
    expect(server.sessions()).toHaveLength(2)
    expect(serverProbe.disconnects.map((d) => d.id)).not.toContain(sessionId)
  })
})
