import { describe, expect, it } from 'vitest'
import { definePlugin, type Session } from '@echostream/kernel'
import { createServer, createClient } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import reconnect from '@echostream/plugin-reconnect'
import events from '@echostream/plugin-events'
import { sleep, track, until } from '../helpers/fixtures.js'

/** A tiny app protocol: `seq.msg` frames carrying a number, in both directions. */
function numbered(received: number[]) {
  return definePlugin({
    name: 'numbered',
    version: '1.0.0',
    kernel: '^1',
    wire: 1,
    setup(kernel) {
      kernel.route('seq.msg', { handler: (frame) => void received.push(frame.payload as number) })
    },
  })
}

const fast = { initialDelayMs: 50, maxDelayMs: 200, ackIntervalMs: 20 }

/** Cuts the client's socket without a close handshake, as a network failure would. */
function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

describe('reconnect with session resume (server alive)', () => {
  it('resumes the same session and delivers every frame once, in order, both ways', async () => {
    const atServer: number[] = []
    const atClient: number[] = []
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, numbered(atServer), [reconnect, { graceMs: 5000 }]] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, numbered(atClient), [reconnect, fast]] }))
    const events: Array<Record<string, unknown>> = []
    client.reconnect.on('reconnected', (e) => events.push(e))
    await client.start()
    const session = client.session!
    const serverSession = server.sessions()[0]!
    serverSession.data.set('user', 'ada')

    let n = 0
    const both = () => {
      n++
      serverSession.send({ kind: 'seq.msg', payload: n })
      session.send({ kind: 'seq.msg', payload: n })
    }
    for (let i = 0; i < 100; i++) both()
    await until(() => atClient.length === 100 && atServer.length === 100)

    cut(session)
    // Frames sent while the link is down: recorded on both sides, replayed after the resume.
    await until(() => session.state === 'suspended' && serverSession.state === 'suspended', 5000, 'both sides suspended')
    for (let i = 0; i < 50; i++) both()
    await until(() => events.length === 1, 10_000, 'reconnected')
    expect(events[0]).toMatchObject({ recovered: true })
    for (let i = 0; i < 50; i++) both()
    await until(() => atClient.length >= 200 && atServer.length >= 200, 5000, 'all frames')
    await sleep(100)
    const expected = Array.from({ length: 200 }, (_, i) => i + 1)
    expect(atClient).toEqual(expected)
    expect(atServer).toEqual(expected)
    expect(client.session!.id).toBe(serverSession.id)
    expect(server.sessions()).toHaveLength(1)
    expect(server.sessions()[0]!.data.get('user')).toBe('ada')
  })

  it('after the grace period the client is told recovered: false and queued frames still arrive once', async () => {
    const atServer: number[] = []
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, numbered(atServer), [reconnect, { graceMs: 50 }]] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, numbered([]), [reconnect, { ...fast, initialDelayMs: 400, maxDelayMs: 400, jitter: 0 }]] }))
    const events: Array<Record<string, unknown>> = []
    client.reconnect.on('reconnected', (e) => events.push(e))
    const disconnects: string[] = []
    server.hooks.disconnect.tap('test', (_s, info) => void disconnects.push(info.reason))
    await client.start()
    const firstId = client.session!.id
    client.session!.send({ kind: 'seq.msg', payload: 1 })
    await until(() => atServer.length === 1)
    cut(client.session!)
    await until(() => client.session!.state === 'suspended')
    client.session!.send({ kind: 'seq.msg', payload: 2 })
    client.session!.send({ kind: 'seq.msg', payload: 3 })
    await until(() => events.length === 1, 10_000, 'reconnected')
    expect(events[0]).toMatchObject({ recovered: false })
    expect(disconnects.some((r) => r.includes('not resumed'))).toBe(true)
    expect(client.session!.id).not.toBe(firstId)
    await until(() => atServer.length === 3)
    await sleep(100)
    expect(atServer).toEqual([1, 2, 3])
  })

  it('a wrong resume token gets a new session, never someone else’s', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, [reconnect, { graceMs: 5000 }]] }))
    await server.start()
    const victim = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [reconnect, fast]] }))
    await victim.start()
    const victimId = victim.session!.id
    cut(victim.session!)
    await until(() => server.sessions()[0]?.state === 'suspended')
    await victim.stop()
    // An attacker who knows the session id but not the token.
    const attacker = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [reconnect, fast]] }))
    attacker.hooks.hello.tap('forge', (hello) => ({ ...hello, resume: { sessionId: victimId, token: 'guess', received: 0 } }))
    await attacker.start()
    expect(attacker.session!.id).not.toBe(victimId)
  })
})


describe('reconnect with rooms (events plugin)', () => {
  it('a resumed session keeps its rooms, and room emits sent while it was away arrive once, in order', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { graceMs: 5000 }]] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, fast]] }))
    const got: number[] = []
    client.events.on('tick', (n: number) => void got.push(n))
    const reconnected: Array<Record<string, unknown>> = []
    client.reconnect.on('reconnected', (e) => reconnected.push(e))
    await client.start()
    const serverSession = server.sessions()[0]!
    serverSession.join('lobby')
    server.events.to('lobby').emit('tick', 1)
    await until(() => got.length === 1)

    cut(client.session!)
    await until(() => serverSession.state === 'suspended')
    for (let n = 2; n <= 4; n++) server.events.to('lobby').emit('tick', n)
    await until(() => reconnected.length === 1, 10_000, 'reconnected')
    expect(reconnected[0]).toMatchObject({ recovered: true })
    expect(server.events.in('lobby')).toEqual([serverSession])
    expect(serverSession.rooms()).toEqual(['lobby'])
    server.events.to('lobby').emit('tick', 5)
    await until(() => got.length >= 5)
    await sleep(100)
    expect(got).toEqual([1, 2, 3, 4, 5])
  })
})
