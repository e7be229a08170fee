/**
 * @echostream/plugin-observability on a real server (127.0.0.1, port 0): pino lines at every level
 * (JSON and pretty, the level from the config), a refused handshake at warn with its reason,
 * `/metrics` scraped around calls, events and a stream (counters move by exactly what the client
 * sent), and `/readyz` flipping to 503 while draining.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { definePlugin, EchoError, type EchoKernel, type Frame } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import observability, { type ObservabilityOptions } from '@echostream/plugin-observability'
import { tempDir, track, until } from '../helpers/fixtures.js'
import { rawClient } from '../helpers/wire.js'

async function startServer(obs: Partial<ObservabilityOptions>, setup?: (server: EchoKernel) => void): Promise<EchoKernel> {
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, rpc, events, streams, observability],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, observability: { port: 0, destination: join(tempDir(), 'server.log'), ...obs } },
    }),
  )
  setup?.(server)
  await server.start()
  return server
}

/** A client whose `sent` tap records what it put on the wire, per kind: the truth metrics are checked against. */
async function startClient(url: string): Promise<{ client: EchoKernel; sent: Map<string, { frames: number; bytes: number }> }> {
  const sent = new Map<string, { frames: number; bytes: number }>()
  const recorder = definePlugin({
    name: 'sent-recorder',
    version: '1.0.0',
    kernel: '^1.0.0',
    setup(kernel) {
      kernel.hooks.sent.tap('sent-recorder', (bytes: Uint8Array, frame: Frame) => {
        const c = sent.get(frame.kind) ?? { frames: 0, bytes: 0 }
        c.frames++
        c.bytes += bytes.byteLength
        sent.set(frame.kind, c)
      })
    },
  })
  const client = track(await createClient({ url, plugins: [transportWs, codecMsgpack, rpc, events, streams, recorder] }))
  await client.start()
  return { client, sent }
}

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean)
}

/** `name{labels} value` lines of a Prometheus text exposition → a lookup. */
function parseMetrics(text: string): (name: string, labels?: Record<string, string>) => number {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) continue
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]))
    samples.set(`${m[1]}${JSON.stringify(Object.entries(labels).sort())}`, Number(m[3]))
  }
  return (name, labels = {}) => samples.get(`${name}${JSON.stringify(Object.entries(labels).sort())}`) ?? 0
}

async function scrape(server: EchoKernel) {
  const res = await fetch(`${server.observability.adminUrl}/metrics`)
  expect(res.status).toBe(200)
  return parseMetrics(await res.text())
}

describe('observability: logs', () => {
  it('writes JSON lines at trace, debug, info, warn and error from a real run; a refused handshake is a warn with the reason', async () => {
    const file = join(tempDir(), 'server.log')
    const server = await startServer({ level: 'trace', destination: file, admin: false }, (s) => {
      s.rpc.handle('add', ({ a, b }: { a: number; b: number }) => a + b)
      s.rpc.handle('buggy', () => {
        throw new TypeError('cannot read x of undefined')
      })
    })
    const { client } = await startClient(server.url!)
    expect(await client.rpc.request('add', { a: 2, b: 3 })).toBe(5)
    await expect(client.rpc.request('buggy', {})).rejects.toMatchObject({ code: 'E_INTERNAL' })
    const raw = await rawClient(server.url!)
    const answer = await raw.hello({ protocol: 1, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1024 } })
    expect(answer[0]).toBe('error')
    await raw.closed
    await client.stop()
    await until(() => server.sessions().length === 0, 5000, 'the server to see the client leave')
    await server.stop()

    const lines = readLines(file).map((l) => JSON.parse(l) as Record<string, unknown>)
    const levels = new Set(lines.map((l) => l.level))
    expect([...levels].sort()).toEqual([10, 20, 30, 40, 50])
    const failed = lines.filter((l) => l.level === 50)
    expect(failed).toHaveLength(1) // once, by the rpc plugin through the kernel's logger (pino here), in the session's child
    expect(failed[0]).toMatchObject({ method: 'buggy', session: client.session!.id })
    expect(failed[0]!.msg).toMatch(/handler of 'buggy' threw: TypeError: cannot read x of undefined/)
    const refused = lines.find((l) => l.msg === 'handshake refused')!
    expect(refused.level).toBe(40)
    expect(refused.code).toBe('E_INCOMPATIBLE')
    expect(String(refused.reason)).toMatch(/version/)
    expect(refused.peer).toMatch(/^127\.0\.0\.1:\d+$/)
    const connected = lines.find((l) => l.msg === 'session connected')!
    expect(connected.level).toBe(30)
    expect(connected.session).toBe(client.session!.id)
    const frame = lines.find((l) => l.msg === 'frame' && l.kind === 'rpc.req')!
    expect(frame).toMatchObject({ level: 10, dir: 'in', name: 'add', session: client.session!.id })
    expect(frame.size).toBeGreaterThan(0)
    expect(lines.some((l) => l.msg === 'listening' && l.level === 30)).toBe(true)
    expect(lines.some((l) => l.msg === 'session closed' && l.code === 1000)).toBe(true)
  })

  it('honours the level from the config: at warn, only the refusal is written', async () => {
    const file = join(tempDir(), 'server.log')
    const server = await startServer({ level: 'warn', destination: file, admin: false })
    const { client } = await startClient(server.url!)
    const raw = await rawClient(server.url!)
    raw.send(['rpc.req', 1, 'x', null])
    await raw.closed
    await client.stop()
    await server.stop()
    const lines = readLines(file).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.every((l) => (l.level as number) >= 40)).toBe(true)
    expect(lines.find((l) => l.msg === 'handshake refused')?.reason).toMatch(/hello/)
  })

  it('writes readable lines with format: pretty', async () => {
    const file = join(tempDir(), 'server.log')
    const server = await startServer({ level: 'debug', format: 'pretty', destination: file, admin: false })
    const raw = await rawClient(server.url!)
    await raw.hello({ protocol: 1, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1024 } })
    await server.stop()
    const text = readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '')
    expect(text).toMatch(/DEBUG.*observability set up/)
    expect(text).toMatch(/INFO.*listening/)
    expect(text).toMatch(/WARN.*handshake refused/)
    expect(text).toMatch(/code: "E_INCOMPATIBLE"/)
    expect(() => JSON.parse(text.split('\n')[0]!)).toThrow()
  })
})

describe('observability: metrics and health', () => {
  it('counts calls, events and a stream exactly as the client sent them', async () => {
    const got: number[] = []
    let chunks = 0
    const server = await startServer({}, (s) => {
      s.rpc.handle('add', ({ a, b }: { a: number; b: number }) => a + b)
      s.rpc.handle('fail', () => {
        throw new EchoError('E_NOPE', 'refused on purpose')
      })
      s.events.on('tick', (n: number) => void got.push(n))
      s.streams.handle('upload', async (stream) => {
        for await (const _ of stream) chunks++
      })
    })
    const before = await scrape(server)
    expect(before('echostream_sessions', { state: 'open' })).toBe(0)
    const { client, sent } = await startClient(server.url!)

    for (let i = 0; i < 7; i++) expect(await client.rpc.request('add', { a: i, b: 1 })).toBe(i + 1)
    await expect(client.rpc.request('fail', {})).rejects.toMatchObject({ code: 'E_NOPE' })
    for (let i = 0; i < 5; i++) client.events.emit('tick', i)
    const writer = await client.streams.open<Uint8Array>('upload')
    for (let i = 0; i < 20; i++) await writer.write(new Uint8Array(1000).fill(i))
    await writer.end()
    await until(() => got.length === 5 && chunks === 20, 5000, 'events and chunks at the server')

    const m = await scrape(server)
    expect(m('echostream_sessions', { state: 'open' })).toBe(1)
    expect(m('echostream_connects_total')).toBe(1)
    for (const kind of ['rpc.req', 'events.emit', 'stream.open', 'stream.data']) {
      expect(m('echostream_frames_in_total', { kind }), kind).toBe(sent.get(kind)!.frames)
      expect(m('echostream_bytes_in_total', { kind }), kind).toBe(sent.get(kind)!.bytes)
    }
    expect(sent.get('rpc.req')!.frames).toBe(8)
    expect(sent.get('events.emit')!.frames).toBe(5)
    expect(sent.get('stream.data')!.frames).toBe(20)
    expect(m('echostream_frames_out_total', { kind: 'rpc.res' })).toBe(7)
    expect(m('echostream_frames_out_total', { kind: 'rpc.err' })).toBe(1)
    expect(m('echostream_bytes_out_total', { kind: 'rpc.res' })).toBeGreaterThan(7 * 5)
    expect(m('echostream_rpc_duration_seconds_count', { method: 'add', code: 'ok' })).toBe(7)
    expect(m('echostream_rpc_duration_seconds_count', { method: 'fail', code: 'E_NOPE' })).toBe(1)
    expect(m('echostream_rpc_duration_seconds_bucket', { method: 'add', code: 'ok', le: '+Inf' })).toBe(7)
    expect(m('echostream_errors_total', { code: 'E_NOPE', source: 'rpc' })).toBe(1)
    expect(m('echostream_slow_consumer_total', { action: 'close' })).toBe(0)
    expect(m('echostream_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0)

    // A refused handshake moves the refusal and error counters by one, nothing else.
    const raw = await rawClient(server.url!)
    await raw.hello({ protocol: 1, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1024 } })
    await raw.closed
    await client.stop()
    await until(() => server.sessions().length === 0, 5000, 'the server to see both leave')
    const after = await scrape(server)
    expect(after('echostream_handshake_refusals_total', { code: 'E_INCOMPATIBLE' })).toBe(1)
    expect(after('echostream_errors_total', { code: 'E_INCOMPATIBLE', source: 'protocol' })).toBe(1)
    expect(after('echostream_disconnects_total', { code: '1000' })).toBe(1)
    expect(after('echostream_sessions', { state: 'open' })).toBe(0)
    expect(after('echostream_frames_in_total', { kind: 'rpc.req' })).toBe(8)
  })

  it('answers /livez, and /readyz turns 503 while draining; plugins add readiness checks', async () => {
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const server = await startServer({}, (s) => s.rpc.handle('hold', () => held.then(() => 'done')))
    const admin = server.observability.adminUrl!
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect((await fetch(`${admin}/livez`)).status).toBe(200)
    const ready = await fetch(`${admin}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ready: true, failing: {} })

    let brokerUp = false
    const remove = server.observability.addReadinessCheck('broker', () => brokerUp || 'broker not connected')
    const notReady = await fetch(`${admin}/readyz`)
    expect(notReady.status).toBe(503)
    expect(await notReady.json()).toEqual({ ready: false, failing: { broker: 'broker not connected' } })
    brokerUp = true
    expect((await fetch(`${admin}/readyz`)).status).toBe(200)
    remove()
    expect(() => server.observability.addReadinessCheck('', () => true)).toThrow(/non-empty string/)

    const { client } = await startClient(server.url!)
    const call = client.rpc.request('hold', {})
    await until(() => server.sessions().length === 1, 5000, 'the session')
    const draining = server.drain(5000)
    const during = await fetch(`${admin}/readyz`)
    expect(during.status).toBe(503)
    expect(await during.json()).toEqual({ ready: false, failing: { server: 'draining' } })
    expect((await fetch(`${admin}/livez`)).status).toBe(200)
    release()
    expect(await call).toBe('done')
    await draining
    await server.stop()
    await expect(fetch(`${admin}/livez`)).rejects.toThrow()
  })
})

describe('observability: clients\' clocks', () => {
  it('summarises the offsets and round trips clients report (clock-sync): a client 5 s ahead shows -5 s', async () => {
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, rpc, events, clockSync, observability],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, observability: { port: 0, destination: join(tempDir(), 'server.log') } },
      }),
    )
    await server.start()
    const before = await scrape(server)
    expect(before('echostream_clock_offset_seconds_count')).toBe(0)
    const client = track(
      await createClient({
        url: server.url!,
        plugins: [transportWs, codecMsgpack, rpc, events, clockSync],
        options: { 'clock-sync': { localOffsetMs: 5000, burstCount: 8, burstGapMs: [10, 20], intervalMs: [50, 60] } },
      }),
    )
    await client.start()
    await client.clock.whenSynced()
    // Reports ride on the probes after the first answer: wait for three of them at the server.
    const session = server.getSession(client.session!.id)!
    await until(() => (server.clock.peerReading(session)?.samples ?? 0) >= 3, 10_000, 'three reports at the server')
    const reported = server.clock.peerReading(session)!
    expect(reported.offsetUs / 1e6).toBeCloseTo(-5, 2)
    const m = await scrape(server)
    const count = m('echostream_clock_offset_seconds_count')
    expect(count).toBeGreaterThanOrEqual(3)
    expect(m('echostream_clock_rtt_seconds_count')).toBe(count)
    // Every report says about -5 s: the median and the sum agree with it.
    expect(m('echostream_clock_offset_seconds', { quantile: '0.5' })).toBeCloseTo(-5, 2)
    expect(m('echostream_clock_offset_seconds_sum') / count).toBeCloseTo(-5, 2)
    const rtt = m('echostream_clock_rtt_seconds', { quantile: '0.5' })
    expect(rtt).toBeGreaterThan(0)
    expect(rtt).toBeLessThan(0.5)
  })

  it('ignores reports that are not believable (hostile meta) and keeps answering the probes', async () => {
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, rpc, events, clockSync, observability],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, observability: { port: 0, destination: join(tempDir(), 'server.log') } },
      }),
    )
    await server.start()
    const raw = await rawClient(server.url!)
    const welcome = await raw.hello({ protocol: 2, codec: 'msgpack', plugins: { rpc: 2, events: 1, 'clock-sync': 1 }, limits: { maxPayload: 1 << 20 } })
    expect(welcome[0]).toBe('welcome')
    for (const meta of [{ offsetUs: 'x', rttUs: 1 }, { offsetUs: 1e300, rttUs: 1 }, { offsetUs: 1, rttUs: -5 }, { offsetUs: Number.NaN, rttUs: 1 }, {}]) {
      const from = raw.messages.length
      raw.send(['clock.ping', 1, null, 123, meta])
      expect((await raw.frame('clock.pong', from))[3]).toEqual([123, expect.any(Number), expect.any(Number)])
    }
    expect(server.clock.peerReading(server.sessions()[0]!)).toBeUndefined()
    const from = raw.messages.length
    raw.send(['clock.ping', 2, null, 123, { offsetUs: 250, rttUs: 1000, jitterUs: 10, samples: 4 }])
    await raw.frame('clock.pong', from)
    const session = server.sessions()[0]!
    expect(server.clock.peerReading(session)).toMatchObject({ offsetUs: 250, rttUs: 1000, jitterUs: 10, samples: 4 })
    expect((await scrape(server))('echostream_clock_offset_seconds_count')).toBe(1)
  })
})
