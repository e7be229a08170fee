/**
 * @echostream/plugin-devtools on a real server (127.0.0.1, port 0): `devtools.snapshot` as a
 * devtools client sees it after a plain client made calls, joined a room, emitted events and left
 * a stream unread; a wrong token refused at the handshake; a session without the token refused
 * on every devtools method and never sent `devtools.update`; the page's HTTP listener; a token
 * generated and logged once when none is configured.
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type EchoKernel, type Session } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import devtools, { type DevtoolsOptions, type DevtoolsSnapshot } from '@echostream/plugin-devtools'
import { createClient, createServer } from '../helpers/create.js'
import { track, until } from '../helpers/fixtures.js'

const TOKEN = 'test-token-0123456789abcdef'

async function startServer(options: Partial<DevtoolsOptions> = {}, logger?: { info(m: string): void; warn(m: string): void; error(m: string): void }): Promise<EchoKernel> {
  const server = track(
    await createServer(
      {
        plugins: [transportWs, codecMsgpack, rpc, events, streams, devtools],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, devtools: { port: 0, token: TOKEN, name: 'devtools-test', version: '9.9.9', intervalMs: 100, ...options } },
      },
      logger ? { logger } : undefined,
    ),
  )
  server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
  server.rpc.handle('room.join', (room: string, ctx: { session: Session }) => void ctx.session.join(room))
  server.rpc.handle('fail', () => {
    throw new EchoError('E_NOPE', 'refused on purpose')
  })
  // Reads nothing until released: the stream's bytes sit unread, and the sender waits for credit.
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  server.streams.handle('upload', async (stream) => {
    await released
    for await (const _ of stream) void _
  })
  server.data.set('release' as never, release as never)
  await server.start()
  return server
}

async function plainClient(url: string): Promise<EchoKernel> {
  const client = track(await createClient({ url, plugins: [transportWs, codecMsgpack, rpc, events, streams] }))
  await client.start()
  return client
}

async function devtoolsClient(url: string, token = TOKEN): Promise<EchoKernel> {
  return track(await createClient({ url, plugins: [transportWs, codecMsgpack, rpc, events, [devtools, { token }]] }))
}

describe('devtools.snapshot', () => {
  it("shows the server, a plain client's session, calls, room, stream credit and errors", async () => {
    const server = await startServer()
    const client = await plainClient(server.url!)
    for (let i = 0; i < 3; i++) expect(await client.rpc.request('math.add', { a: i, b: 1 })).toBe(i + 1)
    await expect(client.rpc.request('fail', {})).rejects.toMatchObject({ code: 'E_NOPE' })
    await client.rpc.request('room.join', 'lobby')
    for (let i = 0; i < 4; i++) client.events.emit('ping', i)
    // Twice the stream's window cannot all go while the server reads nothing: the writer waits for credit.
    const writer = await client.streams.open<Uint8Array>('upload')
    const window = writer.stats().window
    const writes = Promise.all(Array.from({ length: (2 * window) / 8192 }, () => writer.write(new Uint8Array(8192))))
    writes.catch(() => {}) // the test may fail before it awaits them
    await until(() => writer.stats().waitingFor === 'stream-credit', 5000, 'the writer to wait for credit')

    const dev = await devtoolsClient(server.url!)
    await dev.start()
    const reader = () => server.streams.list(server.getSession(client.session!.id)).readers[0]
    await until(() => reader()?.receivedOffset === writer.stats().sentOffset, 5000, 'what was sent to arrive')
    const { receivedOffset: got, maxOffset: granted } = reader()!
    expect(granted - got).toBeLessThan(8192 + 64) // the next chunk does not fit in what is left
    const snap = await dev.devtools.snapshot()

    expect(snap.server).toMatchObject({ name: 'devtools-test', version: '9.9.9', pid: process.pid, url: server.url, draining: false })
    expect(snap.server.kernelVersion).toMatch(/^\d+\.\d+\.\d+/)
    expect(snap.server.uptimeMs).toBeGreaterThanOrEqual(0)
    expect(snap.server.plugins.map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'events', 'streams', 'devtools'])

    expect(snap.sessionsTotal).toBe(2)
    const mine = snap.sessions.find((s) => s.id === client.session!.id)!
    expect(mine).toMatchObject({ devtools: false, calls: 5, events: 4, rooms: ['lobby'], state: 'open', clock: null })
    expect(mine.peer).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(mine.bytesIn).toBeGreaterThan(got)
    expect(snap.sessions.find((s) => s.id === dev.session!.id)).toMatchObject({ devtools: true, calls: 1 })

    expect(snap.rooms).toEqual([{ name: 'lobby', members: 1, sessions: [client.session!.id] }])
    expect(snap.streamsTotal).toBe(1)
    expect(snap.streams[0]).toMatchObject({ session: client.session!.id, name: 'upload', direction: 'in', offset: got, maxOffset: granted, credit: granted - got, queuedBytes: got, waitingFor: 'application' })

    expect(snap.rates.methods.find((m) => m.method === 'math.add')).toMatchObject({ calls: 3 })
    expect(snap.rates.methods.find((m) => m.method === 'fail')).toMatchObject({ calls: 1 })
    expect(snap.rates.callsTotal).toBe(6) // the client's 5, the devtools client's snapshot
    expect(snap.errors[0]).toMatchObject({ source: 'rpc', code: 'E_NOPE', message: 'refused on purpose', session: client.session!.id })
    expect(snap.clock).toMatchObject({ available: false })

    ;(server.data.get('release' as never) as () => void)()
    await writes
    await writer.end()
  })
})

describe('devtools: who may see it', () => {
  it('refuses a wrong token at the handshake with E_UNAUTHORIZED, and the server keeps no session for it', async () => {
    const server = await startServer()
    const dev = await devtoolsClient(server.url!, 'not-the-token-but-long-enough')
    await expect(dev.start()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringMatching(/devtools token is wrong/) })
    expect(server.sessions()).toEqual([])
    const snap = await server.devtools.snapshot()
    expect(snap.errors[0]).toMatchObject({ source: 'protocol', code: 'E_UNAUTHORIZED' })
  })

  it('refuses devtools methods to a session without the token, and pushes devtools.update only to devtools sessions', async () => {
    const server = await startServer({ intervalMs: 100 })
    const plain = await plainClient(server.url!)
    await expect(plain.rpc.request('devtools.snapshot')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringMatching(/devtools sessions only/) })
    await expect(plain.rpc.request('devtools.anything')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' })
    let plainUpdates = 0
    plain.events.on('devtools.update', () => void plainUpdates++)

    const dev = await devtoolsClient(server.url!)
    const updates: DevtoolsSnapshot[] = []
    dev.devtools.onUpdate((s) => void updates.push(s))
    await dev.start()
    await until(() => updates.length >= 3, 10_000, 'three updates at the devtools client')
    // The barrier: the plain client's call answered after three pushes went out; nothing came to it.
    expect(await plain.rpc.request('math.add', { a: 1, b: 1 })).toBe(2)
    expect(plainUpdates).toBe(0)
    expect(updates.at(-1)!.sessions.map((s) => s.id).sort()).toEqual([plain.session!.id, dev.session!.id].sort())
    expect(server.devtools.isDevtools(server.getSession(dev.session!.id)!)).toBe(true)
    expect(server.devtools.isDevtools(server.getSession(plain.session!.id)!)).toBe(false)
  })
})

describe('devtools: the page listener and the token', () => {
  it('serves the page, its script, the browser bundle and the WebSocket URL; nothing else', async () => {
    const server = await startServer()
    const page = server.devtools.pageUrl!
    expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const html = await fetch(`${page}/`)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
    expect(await html.text()).toMatch(/echostream devtools/)
    expect(await (await fetch(`${page}/config.json`)).json()).toEqual({ url: server.url })
    expect(await (await fetch(`${page}/app.js`)).text()).toMatch(/devtools\.snapshot/)
    const bundle = await fetch(`${page}/echostream.js`)
    expect(bundle.status).toBe(200)
    expect(await bundle.text()).toMatch(/createClient/)
    expect((await fetch(`${page}/../package.json`)).status).toBe(404)
    expect((await fetch(`${page}/`, { method: 'POST' })).status).toBe(405)
    await server.stop()
    await expect(fetch(`${page}/`)).rejects.toThrow()
  })

  it('generates a token when none is configured and logs it once; a configured one is never logged', async () => {
    const lines: string[] = []
    const logger = { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) }
    const server = await startServer({ token: undefined, http: false }, logger)
    const token = server.devtools.token
    expect(token.length).toBeGreaterThanOrEqual(32)
    expect(lines.filter((l) => l.includes(token))).toHaveLength(1)
    const dev = await devtoolsClient(server.url!, token)
    await dev.start()
    expect((await dev.devtools.snapshot()).sessionsTotal).toBe(1)
    const other = await startServer({ token: undefined, http: false })
    expect(other.devtools.token).not.toBe(token)

    const quiet: string[] = []
    await startServer({}, { info: (m) => void quiet.push(m), warn: (m) => void quiet.push(m), error: (m) => void quiet.push(m) })
    expect(quiet.join('\n')).not.toContain(TOKEN)
    expect(quiet.join('\n')).toMatch(/devtools/)
  })
})

describe('devtools: updates need the events plugin', () => {
  it('a devtools client with RPC only gets snapshots on request and no event frames it could not route', async () => {
    const server = await startServer({ intervalMs: 100 })
    const rpcOnly = track(await createClient({ url: server.url!, plugins: [transportWs, codecMsgpack, rpc, [devtools, { token: TOKEN }]] }))
    const kinds: string[] = []
    rpcOnly.hooks.inbound.tap('kinds', (frame) => {
      if (frame) kinds.push(frame.kind)
      return frame
    })
    await rpcOnly.start()
    const first = await rpcOnly.rpc.request('devtools.snapshot') as DevtoolsSnapshot
    const full = await devtoolsClient(server.url!)
    const updates: DevtoolsSnapshot[] = []
    full.devtools.onUpdate((s) => void updates.push(s))
    await full.start()
    await until(() => updates.length >= 2, 10_000, 'two updates at the client with events')
    expect(() => rpcOnly.devtools.onUpdate(() => {})).toThrow(/needs the events plugin/)
    const second = await rpcOnly.rpc.request('devtools.snapshot') as DevtoolsSnapshot
    expect(second.at).toBeGreaterThanOrEqual(first.at)
    expect(kinds.filter((k) => !k.startsWith('rpc.'))).toEqual([])
  })
})
