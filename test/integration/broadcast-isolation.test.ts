/**
 * Broadcasts isolate sessions (issue #10 item 6, must-show 5): one suspended session whose replay
 * buffer is full never costs another session its event, never throws into the broadcaster, and
 * is counted and reported. The full session ends at once (its memory released, `disconnect` run);
 * its client resumes into a new session, told `recovered: false`.
 */
import { describe, expect, it } from 'vitest'
import { type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import { track, until } from '../helpers/fixtures.js'

const EVENTS = 40

function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

describe('broadcast with one full suspended session', () => {
  it('reaches every other session, in order; the failure is counted and reported; the full session ends', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { graceMs: 60_000, maxQueuedFrames: 10 }]] }))
    const gone: string[] = []
    server.hooks.disconnect.tap('test', (session) => void gone.push(session.id))
    await server.start()

    const clients: EchoKernel[] = []
    const got: number[][] = []
    for (let i = 0; i < 4; i++) {
      // The client that will be cut reconnects late enough for the broadcasts to overflow its buffer.
      const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, { initialDelayMs: i === 1 ? 800 : 50, jitter: 0 }]] }))
      const mine: number[] = []
      client.events.on('tick', (n: number) => void mine.push(n))
      await client.start()
      clients.push(client)
      got.push(mine)
    }
    const victim = clients[1]!
    const victimId = victim.session!.id
    const reconnected: Array<Record<string, unknown>> = []
    victim.reconnect.on('reconnected', (e) => void reconnected.push(e))
    cut(victim.session!)
    await until(() => server.getSession(victimId)?.state === 'suspended', 5000, 'the server to suspend the victim')

    const reports = []
    for (let n = 1; n <= EVENTS; n++) reports.push(server.events.broadcast('tick', n)) // never throws
    const failedAt = reports.findIndex((r) => r.failed > 0)
    // The suspended session took frames until its buffer (10 frames) was full…
    expect(failedAt).toBeGreaterThanOrEqual(5)
    expect(failedAt).toBeLessThanOrEqual(10)
    for (const report of reports.slice(0, failedAt)) expect(report).toMatchObject({ sent: 4, failed: 0 })
    // …then that one failed, reported with its error, and every other session still got it.
    expect(reports[failedAt]).toMatchObject({ sent: 3, failed: 1 })
    expect(reports[failedAt]!.failures[0]!.session.id).toBe(victimId)
    expect(reports[failedAt]!.failures[0]!.error).toMatchObject({ code: 'E_CLOSED', message: expect.stringMatching(/replay buffer is full/) })
    expect(server.events.stats().failed).toBeGreaterThanOrEqual(1)

    const healthy = [0, 2, 3]
    await until(() => healthy.every((i) => got[i]!.length === EVENTS), 5000, 'every healthy client to get every event')
    const all = Array.from({ length: EVENTS }, (_, i) => i + 1)
    for (const i of healthy) expect(got[i]).toEqual(all)

    // The full session ended at once (not after the 60 s grace period), releasing what it held.
    await until(() => gone.includes(victimId), 1000, 'the full session to end')
    expect(server.getSession(victimId)).toBeUndefined()
    // Its client comes back to a new session and is told so.
    await until(() => reconnected.length === 1, 10_000, 'the victim to reconnect')
    expect(reconnected[0]).toMatchObject({ recovered: false })
    expect(victim.session!.id).not.toBe(victimId)
    server.events.broadcast('tick', EVENTS + 1)
    await until(() => got[1]!.includes(EVENTS + 1), 5000, 'the new session to get events')
    // What was recorded for the ended session is gone with it (at most once), never replayed into the new one.
    expect(got[1]).toEqual([EVENTS + 1])
  })
})
