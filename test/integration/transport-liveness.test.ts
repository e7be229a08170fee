/**
 * Liveness never trusts `close` to arrive (STYLE rule 10): the server pings and terminates a peer
 * whose pong is late; a client terminates when its server stops pinging. Both run `disconnect`
 * with code 4008. Deadlines are small; the bounds asserted are generous (2 noisy cores).
 */
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { pack, unpack } from 'msgpackr'
import { CloseCodes } from '@echostream/kernel'
import { onCleanup, sleep, until } from '../helpers/fixtures.js'
import { rawClient, startClient, startServer } from '../helpers/wire.js'

/** Scheduling slack on a loaded 2-core machine; deadlines themselves are a few hundred ms. */
const SLACK_MS = 2000

/**
 * A bare ws server that answers `hello` with a welcome announcing `limits`, pings
 * every `pingEveryMs` for `pingsForMs`, then goes quiet (but keeps the socket).
 */
async function quietServer(options: { pingEveryMs: number; pingsForMs: number; limits: Record<string, number> }) {
  const http = createHttpServer()
  const wss = new WebSocketServer({ server: http })
  let pinger: ReturnType<typeof setInterval> | undefined
  const state = { pingsStoppedAt: 0, url: '', clients: () => wss.clients.size }
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const frame = unpack(data) as unknown[]
      if (frame[0] !== 'hello') return
      const welcome = { sessionId: 'quiet-server-session', protocol: (frame[3] as { protocol: number }).protocol, plugins: { probe: 1 }, limits: options.limits }
      socket.send(pack(['welcome', null, null, welcome]))
      pinger = setInterval(() => socket.ping(), options.pingEveryMs)
      setTimeout(() => {
        clearInterval(pinger)
        state.pingsStoppedAt = Date.now()
      }, options.pingsForMs)
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  onCleanup(async () => {
    clearInterval(pinger)
    for (const socket of wss.clients) socket.terminate()
    await new Promise((resolve) => wss.close(resolve))
    await new Promise((resolve) => http.close(resolve))
  })
  state.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
  return state
}

describe('liveness', () => {
  it('the server closes a session whose peer stops answering pings, within the deadline; others stay', async () => {
    const pingIntervalMs = 100
    const pingTimeoutMs = 300
    const { server, probe } = await startServer({ transport: { pingIntervalMs, pingTimeoutMs } })
    const { client, probe: clientProbe } = await startClient(server.url!)

    const raw = await rawClient(server.url!)
    const welcome = await raw.hello()
    const sessionId = (welcome[3] as { sessionId: string }).sessionId
    expect(server.sessions().map((s) => s.id)).toContain(sessionId)

    // A peer that is still there but no longer reads: its socket stops answering pings.
    ;(raw.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const pausedAt = Date.now()
    await until(() => probe.disconnects.some((d) => d.id === sessionId), pingIntervalMs + pingTimeoutMs + SLACK_MS, 'the silent session to be closed')
    const elapsed = Date.now() - pausedAt
    expect(elapsed).toBeLessThanOrEqual(pingIntervalMs + pingTimeoutMs + SLACK_MS)

    const gone = probe.disconnects.find((d) => d.id === sessionId)!
    expect(gone.info.code).toBe(CloseCodes.pingTimeout)
    expect(gone.info.reason).toMatch(/ping timeout/)
    expect(server.sessions().map((s) => s.id)).not.toContain(sessionId)

    // The client that answers pings outlives several deadlines and still works.
    await sleep(2 * (pingIntervalMs + pingTimeoutMs))
    expect(client.session!.state).toBe('open')
    expect(server.sessions().map((s) => s.id)).toEqual([client.session!.id])
    expect((await clientProbe.ping(client.session!, 'alive')).payload).toBe('alive')
    expect(probe.disconnects.map((d) => d.id)).toEqual([sessionId])
  })

  it('a client terminates when its server stops pinging, and runs disconnect with 4008', async () => {
    const pingIntervalMs = 100
    const pingTimeoutMs = 200
    // Announces 100 + 200 ms; pings more often than that, then stops.
    const quiet = await quietServer({ pingEveryMs: 50, pingsForMs: 800, limits: { maxPayload: 1 << 20, pingIntervalMs, pingTimeoutMs } })
    // The client's own settings would wait a minute: the deadline it keeps is the one the welcome announced.
    const { client, probe } = await startClient(quiet.url, { transport: { pingIntervalMs: 60_000, pingTimeoutMs: 60_000 } })
    expect(client.session!.id).toBe('quiet-server-session')

    // While pings come (longer than the client's deadline), the client stays.
    await until(() => quiet.pingsStoppedAt > 0 || probe.disconnects.length > 0, 800 + SLACK_MS, 'the pings to stop')
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')

    await until(() => probe.disconnects.length === 1, pingIntervalMs + pingTimeoutMs + SLACK_MS, 'the client to give up')
    expect(Date.now() - quiet.pingsStoppedAt).toBeLessThanOrEqual(pingIntervalMs + pingTimeoutMs + SLACK_MS)
    expect(probe.disconnects[0]!.info.code).toBe(CloseCodes.pingTimeout)
    expect(probe.disconnects[0]!.info.reason).toMatch(/no ping from the server/)
    expect(client.session!.state).toBe('closed')
    expect(client.sessions()).toEqual([])
    // The socket is really gone on the server side too.
    await until(() => quiet.clients() === 0, SLACK_MS, 'the server to see the socket close')
  })

  it("a client keeps the deadline the server's welcome announces, not its own options", async () => {
    // The server pings every 600 ms and says so; the client alone would give up after 100 + 100 ms.
    const pingEveryMs = 600
    const quiet = await quietServer({ pingEveryMs, pingsForMs: 2000, limits: { maxPayload: 1 << 20, pingIntervalMs: pingEveryMs, pingTimeoutMs: 300 } })
    const { client, probe } = await startClient(quiet.url, { transport: { pingIntervalMs: 100, pingTimeoutMs: 100 } })
    await until(() => quiet.pingsStoppedAt > 0 || probe.disconnects.length > 0, 2000 + SLACK_MS, 'the pings to stop')
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')
    // Then the announced deadline (600 + 300 ms) applies.
    await until(() => probe.disconnects.length === 1, 900 + SLACK_MS, 'the client to give up')
    expect(Date.now() - quiet.pingsStoppedAt).toBeGreaterThanOrEqual(900 - pingEveryMs - 50)
    expect(probe.disconnects[0]!.info).toMatchObject({ code: CloseCodes.pingTimeout, reason: expect.stringMatching(/for 900 ms/) })
  })

  it('a server pinging every 2 s and a client configured for 100 ms + 100 ms stay connected (issue #11 must-show 4)', async () => {
    const { server, probe } = await startServer({ transport: { pingIntervalMs: 2000, pingTimeoutMs: 1000 } })
    const { client, probe: clientProbe } = await startClient(server.url!, { transport: { pingIntervalMs: 100, pingTimeoutMs: 100 } })
    // Longer than one ping round, and 13× the client's own deadline.
    await sleep(2600)
    expect(clientProbe.disconnects).toEqual([])
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')
    expect((await clientProbe.ping(client.session!, 'still here')).payload).toBe('still here')
  })

  it('an echostream client against an echostream server stays connected across many ping rounds', async () => {
    const { server, probe } = await startServer({ transport: { pingIntervalMs: 50, pingTimeoutMs: 200 } })
    const { client, probe: clientProbe } = await startClient(server.url!, { transport: { pingIntervalMs: 50, pingTimeoutMs: 200 } })
    await sleep(1000)
    expect(probe.disconnects).toEqual([])
    expect(clientProbe.disconnects).toEqual([])
    expect((await clientProbe.ping(client.session!, 1)).payload).toBe(1)
  })
})
