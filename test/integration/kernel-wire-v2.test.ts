/**
 * The kernel's side of wire protocol v2, over real sockets: limits in the handshake and oversize
 * frames refused at send time, close 1000 as a deliberate end, `send` returning the encoded size
 * and the `sent` hook, route handlers given the message size and arrival time, broadcasts that
 * encode once and isolate sessions, the outbound budget, and user code that throws odd values.
 */
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { CloseCodes, definePlugin, EchoError, monotonicMicros, Stage, type Frame, type PluginDefinition, type Session } from '@echostream/kernel'
import { createServer } from '../helpers/create.js'
import reconnect from '@echostream/plugin-reconnect'
import { sleep, track, until } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, HELLO, rawClient, rejection, startClient, startServer, transportWs, type RawClient } from '../helpers/wire.js'

function throwingProxy(): object {
  const fail = () => {
    throw new Error('trap')
  }
  return new Proxy({}, { get: fail, getPrototypeOf: fail, ownKeys: fail, has: fail, getOwnPropertyDescriptor: fail })
}

/** A plugin with one setup function (for taps and routes a test needs). */
function plugin(name: string, setup: PluginDefinition['setup']): PluginDefinition {
  return definePlugin({ name, version: '1.0.0', kernel: '^1', requires: ['transport', 'codec'], setup })
}

async function rawSession(url: string, server: { sessions(): Session[] }, hello: Record<string, unknown> = HELLO): Promise<{ raw: RawClient; session: Session }> {
  const raw = await rawClient(url)
  const welcome = await raw.hello(hello)
  expect(welcome[0]).toBe('welcome')
  const id = (welcome[3] as { sessionId: string }).sessionId
  return { raw, session: server.sessions().find((s) => s.id === id)! }
}

describe('wire v2, kernel side', () => {
  it('a hello announcing a maxPayload below the 1 KiB floor is refused (E_PROTOCOL, 4000): nothing could be answered to it', async () => {
    const { server } = await startServer()
    for (const maxPayload of [1, 1.5, 16, 200, 1023]) {
      const raw = await rawClient(server.url!)
      const answer = await raw.hello({ ...HELLO, limits: { maxPayload } })
      expect(answer[0]).toBe('error')
      expect(answer[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/maxPayload.*≥ 1024/) })
    }
    const ok = await rawClient(server.url!)
    expect((await ok.hello({ ...HELLO, limits: { maxPayload: 1024 } }))[0]).toBe('welcome')
  })

  it('the welcome announces the server limits; the client follows them', async () => {
    const { server } = await startServer({ transport: { maxPayload: 4096, pingIntervalMs: 2000, pingTimeoutMs: 1500 } })
    const raw = await rawClient(server.url!)
    const welcome = await raw.hello()
    expect((welcome[3] as { limits: unknown }).limits).toEqual({ maxPayload: 4096, pingIntervalMs: 2000, pingTimeoutMs: 1500 })
    const { client } = await startClient(server.url!, { transport: { maxPayload: 9999 } })
    expect(client.session!.peerMaxPayload).toBe(4096)
    expect(server.sessions().find((s) => s.id === client.session!.id)!.peerMaxPayload).toBe(9999)
  })

  it('an oversize frame fails the send with E_PAYLOAD_TOO_LARGE both ways; the session stays open', async () => {
    const { server, probe } = await startServer({ transport: { maxPayload: 2000 } })
    const { client, probe: clientProbe } = await startClient(server.url!, { transport: { maxPayload: 3000 } })
    const serverSide = server.sessions()[0]!

    const toClient = (() => {
      try {
        serverSide.send({ kind: 'probe.pong', id: 1, payload: 'x'.repeat(5000) })
      } catch (error) {
        return error as EchoError
      }
    })()
    expect(toClient?.code).toBe('E_PAYLOAD_TOO_LARGE')
    expect(toClient?.message).toMatch(/exceeds the peer's maxPayload of 3000 bytes/)
    expect(() => client.session!.send({ kind: 'probe.ping', id: 1, payload: 'y'.repeat(2500) })).toThrow(/maxPayload of 2000/)
    expect(server.stats().tooLarge).toBe(1)
    expect(client.stats().tooLarge).toBe(1)

    // Nothing was written: both sides keep working, nothing closed.
    expect((await clientProbe.ping(client.session!, 'small')).payload).toBe('small')
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')
  })

  it('send returns the encoded size; `sent` taps see those bytes; routes get size and arrival time', async () => {
    const seen: Array<{ bytes: number; kind: string }> = []
    const arrivals: Array<{ size: number; arrivedAt: number }> = []
    const recorder = plugin('recorder', (kernel) => {
      kernel.hooks.sent.tap('recorder', (bytes, frame) => void seen.push({ bytes: bytes.byteLength, kind: frame.kind }))
      kernel.route('rec.msg', { handler: (_frame, _session, size, arrivedAt) => void arrivals.push({ size, arrivedAt }) })
    })
    const { server } = await startServer({ plugins: [recorder] })
    const { client } = await startClient(server.url!, { plugins: [recorder] })
    const frame: Frame = { kind: 'rec.msg', payload: { text: 'héllo', n: [1, 2, 3] } }
    const before = monotonicMicros()
    const size = client.session!.send(frame)
    expect(size).toBe(pack(['rec.msg', null, null, frame.payload]).byteLength)
    expect(seen.at(-1)).toEqual({ bytes: size, kind: 'rec.msg' })
    await until(() => arrivals.length === 1, 2000, 'the frame')
    expect(arrivals[0]!.size).toBe(size)
    expect(arrivals[0]!.arrivedAt).toBeGreaterThan(before)
    expect(arrivals[0]!.arrivedAt).toBeLessThanOrEqual(monotonicMicros())

    // A tap that drops the frame: 0 bytes, and `sent` never sees it.
    const dropper = plugin('dropper', (kernel) => kernel.hooks.outbound.tap('dropper', (f) => (f?.kind === 'rec.drop' ? null : f)))
    await client.load(dropper)
    const count = seen.length
    expect(client.session!.send({ kind: 'rec.drop' })).toBe(0)
    expect(seen.length).toBe(count)
  })

  it('close 1000 is a deliberate end: with reconnect loaded, client.stop() ends the server session at once', async () => {
    const { server, probe } = await startServer({ plugins: [[reconnect, { graceMs: 60_000 }]] })
    const { client } = await startClient(server.url!, { plugins: [reconnect] })
    const id = client.session!.id
    const stoppedAt = Date.now()
    await client.stop()
    await until(() => probe.disconnects.length === 1, 1000, "the server's disconnect within a second")
    expect(Date.now() - stoppedAt).toBeLessThan(1000)
    expect(probe.disconnects[0]).toMatchObject({ id, info: { code: CloseCodes.normal } })
    expect(server.sessions()).toEqual([])
  })

  it('close 1000 from the server ends the client session too (no reconnect attempt)', async () => {
    const { server } = await startServer({ plugins: [[reconnect, { graceMs: 60_000 }]] })
    const { client, probe } = await startClient(server.url!, { plugins: [[reconnect, { initialDelayMs: 10 }]] })
    const attempts: unknown[] = []
    client.reconnect.on('reconnecting', (data) => void attempts.push(data))
    server.sessions()[0]!.close('bye')
    await until(() => probe.disconnects.length === 1, 2000, 'the client to end its session')
    expect(probe.disconnects[0]!.info.code).toBe(CloseCodes.normal)
    expect(client.session!.state).toBe('closed')
    await sleep(100)
    expect(attempts).toEqual([])
  })

  it('a broadcast to 1,000 sessions with an outbound tap encodes once; one failing session costs nobody else', async () => {
    let tapped = 0
    const passThrough = plugin('metrics', (kernel) => kernel.hooks.outbound.tap('metrics', (frame) => (tapped++, frame)))
    const { server } = await startServer({ plugins: [passThrough] })
    const raws: RawClient[] = []
    for (let i = 0; i < 1000; i++) {
      const raw = await rawClient(server.url!)
      raw.send(['hello', null, null, HELLO])
      raws.push(raw)
    }
    // One peer accepts only small messages (the protocol's 1 KiB floor): the broadcast must fail for it alone.
    const tiny = await rawClient(server.url!)
    tiny.send(['hello', null, null, { ...HELLO, limits: { maxPayload: 1024 } }])
    await until(() => server.sessions().length === 1001, 20_000, '1,001 sessions')

    const before = server.stats()
    const toEveryone = `to everyone ${'.'.repeat(1100)}`
    const report = server.fanout(server.sessions(), { kind: 'probe.pong', payload: toEveryone })
    expect(server.stats().encodes - before.encodes).toBe(1)
    expect(tapped).toBeGreaterThanOrEqual(1001)
    expect(report).toMatchObject({ sent: 1000, failed: 1, dropped: 0 })
    expect(report.failures[0]!.error.code).toBe('E_PAYLOAD_TOO_LARGE')
    expect(server.stats().fanoutFailures - before.fanoutFailures).toBe(1)
    await until(() => raws.every((r) => r.messages.some((m) => Array.isArray(m) && m[3] === toEveryone)), 20_000, 'every session to get it')
    expect(tiny.closeInfo).toBeUndefined()
  }, 60_000)

  it('a paused peer over its outbound budget: volatile frames are dropped and counted, others close it with 4009', async () => {
    const budget = 256 * 1024
    const { server: budgeted, probe: budgetProbe } = await startServerWithBudget(budget)
    const { raw, session } = await rawSession(budgeted.url!, budgeted)
    ;(raw.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const chunk = new Uint8Array(8 * 1024)
    let dropped = 0
    for (let i = 0; i < 2000; i++) {
      if (session.send({ kind: 'probe.pong', payload: chunk }, { volatile: true }) === 0) dropped++
      expect(session.outboundBytes).toBeLessThanOrEqual(budget + 16 * 1024)
      if (i % 100 === 99) await sleep(1)
    }
    expect(dropped).toBeGreaterThan(0)
    expect(budgeted.stats().volatileDropped).toBe(dropped)
    expect(session.state).toBe('open')
    expect(session.writable).toBe(false)

    // A frame that is not volatile: the session is closed as a slow consumer.
    session.send({ kind: 'probe.pong', payload: chunk })
    await until(() => budgetProbe.disconnects.length === 1, 2000, 'the slow consumer to be closed')
    expect(budgetProbe.disconnects[0]!.info.code).toBe(CloseCodes.slowConsumer)
    expect(budgeted.stats().slowConsumerCloses).toBe(1)
  })

  it('hooks, taps and handlers that throw odd values become coded errors; nothing crashes', async () => {
    const odd = plugin('odd', (kernel) => {
      kernel.route('odd.throw', {
        handler() {
          throw Object.create(null)
        },
      })
      kernel.hooks.disconnect.tap('odd', () => {
        throw throwingProxy()
      })
      kernel.hooks.outbound.tap('odd', (frame) => {
        if (frame?.kind === 'odd.out') throw throwingProxy()
        return frame
      })
      kernel.hooks.connect.tapPromise({ name: 'odd', stage: Stage.LAST }, async (session) => {
        if (session.handshake.refuseMe) throw throwingProxy()
      })
    })
    const { server } = await startServer({ plugins: [odd] })
    const raw = await rawClient(server.url!)
    await raw.hello()
    raw.send(['odd.throw', 7, null, null])
    const error = await raw.frame('error')
    expect(error[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/non-Error value was thrown: an object with no prototype/), re: 'odd.throw' })

    const session = server.sessions()[0]!
    const thrown = (() => {
      try {
        session.send({ kind: 'odd.out' })
      } catch (e) {
        return e
      }
    })()
    expect(EchoError.is(thrown)).toBe(true)
    expect((thrown as EchoError).code).toBe('E_INTERNAL')

    const refused = await rawClient(server.url!)
    const answer = await refused.hello({ ...HELLO, refuseMe: true })
    expect(answer[0]).toBe('error')
    expect(answer[3]).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/cannot be inspected/) })

    raw.ws.close(1000)
    await sleep(50)
    expect(server.state).toBe('started')
    const { client } = await startClient(server.url!, { plugins: [odd] })
    expect(client.session!.state).toBe('open')
    const err = await rejection(Promise.reject(EchoError.from(throwingProxy())))
    expect(err.code).toBe('E_INTERNAL')
  })
})

async function startServerWithBudget(budget: number) {
  const probe = createProbe()
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, probe.plugin],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 } },
      outboundBudget: budget,
    }),
  )
  await server.start()
  return { server, probe }
}
