/**
 * A clean stop is not a lost connection (issue #10 item 8, must-show 7): with reconnect loaded,
 * `client.stop()` ends the session on the server at once — `disconnect` runs within a second, not
 * after the grace period — and a server's deliberate `session.close()` (1000) is not resumed by
 * the client. A cut link still suspends (the control that shows the grace period is in force).
 */
import { describe, expect, it } from 'vitest'
import { type CloseInfo, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import reconnect from '@echostream/plugin-reconnect'
import { sleep, track, until } from '../helpers/fixtures.js'

const fast = { initialDelayMs: 50, maxDelayMs: 100 }

async function pair() {
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, [reconnect, { graceMs: 120_000 }]] }))
  const disconnects: Array<{ id: string; info: CloseInfo; at: number }> = []
  const suspended: string[] = []
  server.hooks.disconnect.tap('test', (session, info) => void disconnects.push({ id: session.id, info, at: Date.now() }))
  server.reconnect.on('suspended', ({ session }) => void suspended.push((session as Session).id))
  await server.start()
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [reconnect, fast]] }))
  const reconnecting: unknown[] = []
  client.reconnect.on('reconnecting', (e) => void reconnecting.push(e))
  await client.start()
  return { server, client, disconnects, suspended, reconnecting }
}

describe('clean stop with reconnect loaded', () => {
  it('client.stop(): the server runs disconnect within a second and keeps nothing', async () => {
    const { server, client, disconnects, suspended } = await pair()
    const id = client.session!.id
    const stoppedAt = Date.now()
    await client.stop()
    await until(() => disconnects.length === 1, 1000, 'the server to run disconnect')
    expect(disconnects[0]!.id).toBe(id)
    expect(disconnects[0]!.info.code).toBe(1000) // a deliberate end on the wire
    expect(disconnects[0]!.at - stoppedAt).toBeLessThan(1000)
    expect(suspended).toEqual([])
    expect(server.sessions()).toEqual([])
  })

  it("the server's session.close() (1000) ends the client's session; the client does not try to resume", async () => {
    const { server, client, disconnects, reconnecting } = await pair()
    const clientGone: CloseInfo[] = []
    client.hooks.disconnect.tap('test', (_s, info) => void clientGone.push(info))
    server.sessions()[0]!.close('bye')
    await until(() => clientGone.length === 1, 2000, 'the client to see the close')
    expect(clientGone[0]!.code).toBe(1000)
    expect(client.session!.state).toBe('closed')
    await sleep(300) // several backoff delays: no attempt may start
    expect(reconnecting).toEqual([])
    expect(disconnects).toHaveLength(1)
    expect(server.sessions()).toEqual([])
  })

  it('control: a cut link suspends the session on the server (the grace period applies)', async () => {
    const { server, client, disconnects, suspended } = await pair()
    ;(client.session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
    await until(() => suspended.length === 1, 2000, 'the server to suspend the session')
    expect(disconnects).toEqual([])
    expect(server.sessions()).toHaveLength(1)
  })
})
