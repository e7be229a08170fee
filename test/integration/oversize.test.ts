/**
 * Oversize frames fail the operation, not the connection (issue #10 item 7, must-show 6), also
 * with reconnect loaded: the sender knows the peer's maxPayload from the handshake and refuses at
 * send time with E_PAYLOAD_TOO_LARGE; nothing oversize is queued for replay, there is no
 * reconnect loop, and the session keeps working. Should an oversize message reach a peer anyway
 * (a peer that announced more than it accepts), its 1009 close is not resumed: no replay loop.
 * (An oversize RPC result with reconnect loaded is the rpc plugin's test.)
 */
import { describe, expect, it } from 'vitest'
import { type EchoKernel } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import { sleep, track, until } from '../helpers/fixtures.js'

const KiB = 1024
const fast = { initialDelayMs: 20, maxDelayMs: 50 }

async function setup(clientMaxPayload = 32 * KiB) {
  const server = track(
    await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { graceMs: 30_000 }]], options: { 'transport-ws': { maxPayload: 64 * KiB } } }),
  )
  const suspended: unknown[] = []
  server.reconnect.on('suspended', (e) => void suspended.push(e))
  const atServer: unknown[] = []
  server.events.on('small', (n: number) => void atServer.push(n))
  await server.start()
  const client = track(
    await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, fast]], options: { 'transport-ws': { maxPayload: clientMaxPayload } } }),
  )
  const reconnecting: unknown[] = []
  client.reconnect.on('reconnecting', (e) => void reconnecting.push(e))
  const atClient: unknown[] = []
  client.events.on('small', (n: number) => void atClient.push(n))
  await client.start()
  return { server, client, suspended, reconnecting, atServer, atClient }
}

/** Both sessions are still the first ones and work both ways. */
async function stillWorks(server: EchoKernel, client: EchoKernel, atServer: unknown[], atClient: unknown[], n: number): Promise<void> {
  client.events.emit('small', n)
  server.sessions()[0]!.emit('small', n)
  await until(() => atServer.includes(n) && atClient.includes(n), 5000, `event ${n} both ways`)
}

describe('oversize frames with reconnect loaded', () => {
  it('an oversize emit fails at send time with E_PAYLOAD_TOO_LARGE, either way; nothing is queued; no reconnect; the session keeps working', async () => {
    const { server, client, suspended, reconnecting, atServer, atClient } = await setup()
    const sessionId = client.session!.id
    const sentBefore = client.reconnect.buffered()!.sent

    // Client → server: over the server's announced 64 KiB.
    expect(() => client.events.emit('big', new Uint8Array(100 * KiB))).toThrow(expect.objectContaining({ code: 'E_PAYLOAD_TOO_LARGE', message: expect.stringMatching(/65536/) }))
    expect(client.reconnect.buffered()!.sent).toBe(sentBefore) // not counted, not kept for a replay
    // Server → client: over the client's announced 32 KiB.
    const serverSession = server.sessions()[0]!
    expect(() => serverSession.emit('big', new Uint8Array(50 * KiB))).toThrow(expect.objectContaining({ code: 'E_PAYLOAD_TOO_LARGE' }))
    // A broadcast fails for that session only, and says so.
    const report = server.events.broadcast('big', new Uint8Array(50 * KiB))
    expect(report).toMatchObject({ sent: 0, failed: 1 })
    expect(report.failures[0]!.error.code).toBe('E_PAYLOAD_TOO_LARGE')

    await stillWorks(server, client, atServer, atClient, 1)
    await sleep(300) // several backoff delays (20–50 ms): a loop would show
    expect(reconnecting).toEqual([])
    expect(suspended).toEqual([])
    expect(client.session!.id).toBe(sessionId)
    await stillWorks(server, client, atServer, atClient, 2)
  })

  it('should an oversize message reach a peer anyway, its 1009 close ends the session: never resumed, never replayed in a loop', async () => {
    // A client that announces more than its transport accepts (a misconfigured peer).
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { graceMs: 30_000 }]] }))
    const suspended: unknown[] = []
    server.reconnect.on('suspended', (e) => void suspended.push(e))
    const gone: number[] = []
    server.hooks.disconnect.tap('test', (_s, info) => void gone.push(info.code))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, fast]], options: { 'transport-ws': { maxPayload: 32 * KiB } } }))
    client.hooks.hello.tap('liar', (hello) => ({ ...hello, limits: { maxPayload: 1024 * KiB } }))
    const reconnecting: unknown[] = []
    client.reconnect.on('reconnecting', (e) => void reconnecting.push(e))
    const closed: number[] = []
    client.hooks.disconnect.tap('test', (_s, info) => void closed.push(info.code))
    await client.start()

    server.sessions()[0]!.emit('big', new Uint8Array(100 * KiB)) // passes the server's check: the peer said 1 MiB
    await until(() => closed.length === 1 && gone.length === 1, 5000, 'both sides to end the session')
    expect(closed).toEqual([1009])
    await sleep(300)
    expect(reconnecting).toEqual([])
    expect(suspended).toEqual([])
    expect(client.session!.state).toBe('closed')
    expect(server.sessions()).toEqual([])
  })
})
