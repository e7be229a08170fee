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
    // A bare ws server that does the handshake, pings for a while, then goes quiet (but keeps the socket).
    const http = createHttpServer()
    const wss = new WebSocketServer({ server: http })
    let pinger: ReturnType<typeof setInterval> | undefined
    let pingsStoppedAt = 0
    const pingsFor = 800
    wss.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        const frame = unpack(data) as unknown[]
        if (frame[0] !== 'hello') return
        socket.send(pack(['welcome', null, null, { sessionId: 'quiet-server-session', protocol: 2, plugins: { probe: 1 }, limits: { maxPayload: 1048576, pingIntervalMs: 100, pingTimeoutMs: 200 } }]))
        pinger = setInterval(() => socket.ping(), 50)
        setTimeout(() => {
          clearInterval(pinger)
          pingsStoppedAt = Date.now()
        }, pingsFor)
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    onCleanup(async () => {
      clearInterval(pinger)
      for (const socket of wss.clients) socket.terminate()
      await new Promise((resolve) => wss.close(resolve))
      await new Promise((resolve) => http.close(resolve))
    })

    const pingIntervalMs = 100
    const pingTimeoutMs = 200
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
    const { client, probe } = await startClient(url, { transport: { pingIntervalMs, pingTimeoutMs } })
    expect(client.session!.id).toBe('quiet-server-session')

    // While pings come (longer than the client's deadline), the client stays.
    await until(() => pingsStoppedAt > 0 || probe.disconnects.length > 0, pingsFor + SLACK_MS, 'the pings to stop')
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')

    await until(() => probe.disconnects.length === 1, pingIntervalMs + pingTimeoutMs + SLACK_MS, 'the client to give up')
    expect(Date.now() - pingsStoppedAt).toBeLessThanOrEqual(pingIntervalMs + pingTimeoutMs + SLACK_MS)
    expect(probe.disconnects[0]!.info.code).toBe(CloseCodes.pingTimeout)
    expect(probe.disconnects[0]!.info.reason).toMatch(/no ping from the server/)
    expect(client.session!.state).toBe('closed')
    expect(client.sessions()).toEqual([])
    // The socket is really gone on the server side too.
    await until(() => wss.clients.size === 0, SLACK_MS, 'the server to see the socket close')
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
