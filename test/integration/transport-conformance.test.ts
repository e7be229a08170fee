/**
 * Transport conformance: the same transport-level tests, run against every transport plugin
 * (transport-ws and transport-tcp) with real sockets on 127.0.0.1 port 0 — connect and handshake,
 * RPC both ways, binary messages, maxPayload, liveness, backpressure, close codes, TLS. A new
 * transport joins by adding an adapter (test/helpers/transport-*.ts) to TRANSPORTS.
 *
 * Raw peers (a socket speaking only the transport's framing) do what a real client never would:
 * stop reading, stop answering pings, send an oversize message, vanish.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCodes, ErrorCodes, PROTOCOL_VERSION, type EchoKernel, type EchoConfig } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import rpc from '@echostream/plugin-rpc'
import type {} from '@echostream/preset-default'
import { sleep, track, until } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, rejection, type Probe } from '../helpers/wire.js'
import { createMsgpackCodec } from '@echostream/plugin-codec-msgpack'
import { closedWithin, decodeFrame, encodeFrame, frameOf, hello, helloFrame, type TransportUnderTest } from '../helpers/transport-link.js'
import { wsTransport } from '../helpers/transport-ws.js'
import { tcpTransport } from '../helpers/transport-tcp.js'

const TRANSPORTS: TransportUnderTest[] = [wsTransport, tcpTransport]

/** test/, whose node_modules holds the packages: specifiers in configs resolve from here. */
const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Scheduling slack on a loaded 2-core machine; the deadlines themselves are a few hundred ms. */
const SLACK_MS = 2000

let certDir: string
let local: { cert: string; key: string }
let otherHost: { cert: string; key: string }

/** A self-signed P-256 certificate valid for a day, for `san` (e.g. "IP:127.0.0.1,DNS:localhost"). */
function selfSigned(name: string, san: string): { cert: string; key: string } {
  const certFile = join(certDir, `${name}.cert.pem`)
  const keyFile = join(certDir, `${name}.key.pem`)
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=echostream ${name}`, '-addext', `subjectAltName=${san}`, '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  )
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
}

beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'echostream-conformance-'))
  local = selfSigned('local', 'IP:127.0.0.1,DNS:localhost')
  otherHost = selfSigned('other', 'DNS:not-this-host.example')
})

afterAll(() => {
  if (certDir) rmSync(certDir, { recursive: true, force: true })
})

describe.each(TRANSPORTS)('transport conformance: $name', (t) => {
  async function server(transport: Record<string, unknown> = {}, extra: Partial<EchoConfig> = {}): Promise<{ server: EchoKernel; probe: Probe }> {
    const probe = createProbe()
    const kernel = track(await createServer({ plugins: [t.plugin, codecMsgpack, rpc, probe.plugin], options: { [t.key]: { host: '127.0.0.1', port: 0, ...transport } }, ...extra }))
    kernel.rpc.handle('add', ({ a, b }: { a: number; b: number }) => a + b)
    await kernel.start()
    return { server: kernel, probe }
  }

  async function client(url: string, transport: Record<string, unknown> = {}): Promise<{ client: EchoKernel; probe: Probe }> {
    const probe = createProbe()
    const kernel = track(await createClient({ url, plugins: [t.plugin, codecMsgpack, rpc, probe.plugin], options: { [t.key]: transport } }))
    await kernel.start()
    return { client: kernel, probe }
  }

  const sessionOf = (kernel: EchoKernel) => kernel.session!

  describe('connect and handshake', () => {
    it(`listens on port 0, reports a ${t.scheme}:// URL, and a client completes the handshake`, async () => {
      const { server: s, probe } = await server()
      expect(s.url).toMatch(new RegExp(`^${t.scheme}://127\\.0\\.0\\.1:\\d+$`))
      const { client: c } = await client(s.url!)
      expect(sessionOf(c).state).toBe('open')
      await until(() => probe.connects.length === 1)
      const [session] = s.sessions()
      expect(session!.id).toBe(sessionOf(c).id)
      expect(session!.peer).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(sessionOf(c).peer).toBe(new URL(s.url!).host)
    })

    it('refuses a hello of another protocol version with E_INCOMPATIBLE and close code 4001, naming both versions', async () => {
      const { server: s, probe } = await server()
      const raw = await t.rawClient(s.url!)
      const answer = await hello(raw, { protocol: PROTOCOL_VERSION + 97 })
      expect(answer[0]).toBe('error')
      expect(answer[3]).toMatchObject({ code: ErrorCodes.E_INCOMPATIBLE })
      expect((answer[3] as { message: string }).message).toContain(String(PROTOCOL_VERSION + 97))
      expect((answer[3] as { message: string }).message).toContain(String(PROTOCOL_VERSION))
      const closed = await closedWithin(raw)
      expect(closed.code).toBe(CloseCodes.incompatible)
      expect(probe.connects).toEqual([])
    })

    it('a client of a port where nothing listens fails with E_CLOSED, retryable, naming the URL', async () => {
      const { server: s } = await server()
      const url = s.url!
      await s.stop()
      const c = track(await createClient({ url, plugins: [t.plugin, codecMsgpack, rpc] }))
      const error = await rejection(c.start())
      expect(error.code).toBe(ErrorCodes.E_CLOSED)
      expect(error.retryable).toBe(true)
      expect(error.message).toContain(url)
    })
  })

  describe('RPC both ways', () => {
    it('client → server and server → client, 200 concurrent calls each way, every result right', async () => {
      const { server: s } = await server()
      const { client: c } = await client(s.url!)
      c.rpc.handle('twice', (n: number) => n * 2)
      expect(await c.rpc.request('add', { a: 1, b: 2 })).toBe(3)
      const up = Array.from({ length: 200 }, (_, i) => c.rpc.request('add', { a: i, b: 1 }))
      const session = s.sessions()[0]!
      const down = Array.from({ length: 200 }, (_, i) => session.request('twice', i))
      expect(await Promise.all(up)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      expect(await Promise.all(down)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2))
    })
  })

  describe('binary messages', () => {
    it('carries binary payloads intact both ways: empty, small, 300 KB, and a burst of 100 in one turn in order', async () => {
      const { server: s, probe } = await server({ maxPayload: 1 << 20 })
      const { client: c, probe: clientProbe } = await client(s.url!, { maxPayload: 1 << 20 })
      const big = new Uint8Array(300_000).map((_, i) => (i * 7 + (i >> 8)) % 256)
      for (const payload of [new Uint8Array(0), Uint8Array.of(0, 255, 128), big]) {
        const pong = await clientProbe.ping(sessionOf(c), payload)
        expect(Buffer.from(pong.payload as Uint8Array).equals(Buffer.from(payload))).toBe(true)
      }
      const back = await probe.ping(s.sessions()[0]!, big)
      expect(Buffer.from(back.payload as Uint8Array).equals(Buffer.from(big))).toBe(true)
      const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => clientProbe.ping(sessionOf(c), Uint8Array.of(i, i ^ 0xff))))
      expect(burst.map((f) => [...(f.payload as Uint8Array)])).toEqual(Array.from({ length: 100 }, (_, i) => [i, i ^ 0xff]))
      expect(probe.pings.slice(-100).map((f) => (f.payload as Uint8Array)[0])).toEqual(Array.from({ length: 100 }, (_, i) => i))
    })
  })

  describe('binary tails (a stream chunk sent in parts)', () => {
    /** Frames whose payload ends with a binary: below the codec's 4 KiB (encoded whole), at it, 64 KiB, and a bin32 one; and one with no binary. */
    function tailFrames() {
      const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff)
      return [
        { kind: 'stream.data', id: 3, payload: [0, 1_764_000_000_000_000, bytes(100, 1)] },
        { kind: 'stream.data', id: 3, payload: [1, 1_764_000_000_000_020, bytes(4096, 2)] },
        { kind: 'stream.data', id: 5, payload: [2, 1.5, bytes(64 * 1024, 3)] },
        { kind: 'probe.blob', id: 7, name: 'n', payload: bytes(70_000, 4) },
        { kind: 'stream.data', id: 3, payload: [3, 2, 'text, not binary'] },
      ]
    }

    /** A client of `t`'s transport, welcomed by a raw server (limits 1 MiB, no pings): the raw side sees its messages as they are. */
    async function clientOfRawServer(sessionId: string) {
      const rawServer = await t.rawServer()
      const client = track(await createClient({ url: rawServer.url, plugins: [t.plugin, codecMsgpack], options: { [t.key]: { maxPayload: 1 << 20 } } }))
      const started = client.start()
      const link = await rawServer.accept()
      await frameOf(link, 'hello')
      link.send(encodeFrame(['welcome', null, null, { sessionId, protocol: PROTOCOL_VERSION, plugins: {}, limits: { maxPayload: 1 << 20, pingIntervalMs: 60_000, pingTimeoutMs: 60_000 } }]))
      await started
      return { client, link }
    }

    /** Sends each tail frame with `binaryTail`, a marker after each; the peer's messages must be exactly the plain encodings, in order. */
    async function expectSameBytes(send: (frame: Record<string, unknown>, options?: { binaryTail: boolean }) => number, link: { messages: Uint8Array[] }) {
      const codec = createMsgpackCodec()
      const frames = tailFrames()
      const from = link.messages.length
      const sizes = frames.map((frame, i) => {
        const size = send(frame, { binaryTail: true })
        send({ kind: 'probe.marker', id: i })
        return size
      })
      await until(() => link.messages.length >= from + 2 * frames.length, 5000, 'every frame and marker')
      frames.forEach((frame, i) => {
        const expected = Buffer.from(codec.encode(frame))
        expect(Buffer.from(link.messages[from + 2 * i]!).equals(expected)).toBe(true)
        expect(sizes[i]).toBe(expected.byteLength)
        expect(decodeFrame(link.messages[from + 2 * i + 1]!)?.slice(0, 2)).toEqual(['probe.marker', i])
      })
    }

    it('reach the peer as exactly the bytes of their plain encoding, one message each, in order with the frames around them, both ways', async () => {
      // client → a raw server
      const { client: c, link } = await clientOfRawServer('raw-1')
      await expectSameBytes((frame, options) => sessionOf(c).send(frame as never, options), link)
      // server → a raw client
      const { server: s } = await server({ maxPayload: 1 << 20 })
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      const session = s.sessions()[0]!
      await expectSameBytes((frame, options) => session.send(frame as never, options), raw)
    })

    it('a burst of distinct 64 KiB tails to a peer that stops reading arrives exact and in order (a frame buffer is reused only once the socket flushed it)', async () => {
      const { client: c, link } = await clientOfRawServer('raw-2')
      const session = sessionOf(c)
      const codec = createMsgpackCodec()
      const chunk = new Uint8Array(64 * 1024)
      const expected: string[] = []
      const from = link.messages.length
      link.pause()
      // 96 chunks (6 MiB): far more than the socket buffers take while the peer reads nothing, so
      // frames wait in the client's queue; each turn reuses the one chunk buffer with new bytes.
      for (let i = 0; i < 96; i++) {
        chunk.fill(i & 0xff)
        chunk[0] = i
        const frame = { kind: 'stream.data', id: 3, payload: [i, 1, chunk] }
        session.send(frame as never, { binaryTail: true })
        expected.push(Buffer.from(codec.encode(frame)).toString('base64'))
        if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve))
      }
      expect(session.bufferedAmount).toBeGreaterThan(0)
      link.resume()
      await until(() => link.messages.length >= from + expected.length, 20_000, 'every chunk')
      expect(link.messages.slice(from).map((m) => Buffer.from(m).toString('base64'))).toEqual(expected)
    })

    it('with a `sent` tap (reconnect keeps sent bytes) are encoded whole: the tap sees the message bytes the peer receives', async () => {
      const { server: s } = await server({ maxPayload: 1 << 20 })
      const seen: Uint8Array[] = []
      s.hooks.sent.tap('test-sent', (bytes, frame) => {
        if (frame.kind !== 'probe.marker') seen.push(Buffer.from(bytes))
      })
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      const session = s.sessions()[0]!
      seen.length = 0
      await expectSameBytes((frame, options) => session.send(frame as never, options), raw)
      const codec = createMsgpackCodec()
      expect(seen.map((b) => Buffer.from(b).toString('hex'))).toEqual(tailFrames().map((f) => Buffer.from(codec.encode(f)).toString('hex')))
    })

    it("above the peer's maxPayload fail at send time with E_PAYLOAD_TOO_LARGE, nothing sent; the session goes on", async () => {
      const { server: s, probe } = await server({ maxPayload: 1 << 20 })
      const { client: c, probe: clientProbe } = await client(s.url!, { maxPayload: 1 << 20 })
      const session = sessionOf(c)
      const limit = session.peerMaxPayload
      const error = (() => {
        try {
          session.send({ kind: 'probe.ping', id: 1, payload: [0, 0, new Uint8Array(limit)] }, { binaryTail: true })
        } catch (caught) {
          return caught
        }
      })()
      expect(error).toMatchObject({ code: ErrorCodes.E_PAYLOAD_TOO_LARGE })
      expect((await clientProbe.ping(session, new Uint8Array(64 * 1024))).payload).toHaveLength(64 * 1024)
      expect(probe.disconnects).toEqual([])
    })
  })

  describe('maxPayload', () => {
    it("announces its limits in the handshake: the server's maxPayload and ping cadence in welcome, the client's maxPayload in hello", async () => {
      const { server: s } = await server({ maxPayload: 4321, pingIntervalMs: 1234, pingTimeoutMs: 567 })
      const raw = await t.rawClient(s.url!)
      const welcome = await hello(raw)
      expect(welcome[3]).toMatchObject({ limits: { maxPayload: 4321, pingIntervalMs: 1234, pingTimeoutMs: 567 } })

      const rawServer = await t.rawServer()
      const c = track(await createClient({ url: rawServer.url, plugins: [t.plugin, codecMsgpack], options: { [t.key]: { maxPayload: 8765 } } }))
      void c.start().catch(() => {})
      const link = await rawServer.accept()
      expect((await frameOf(link, 'hello'))[3]).toMatchObject({ limits: { maxPayload: 8765 } })
    })

    it("a send above the peer's announced maxPayload fails with E_PAYLOAD_TOO_LARGE at send time, both ways; the session stays open", async () => {
      const { server: s, probe } = await server({ maxPayload: 2000 })
      const { client: c, probe: clientProbe } = await client(s.url!, { maxPayload: 3000 })
      const up = (() => {
        try {
          sessionOf(c).send({ kind: 'probe.ping', id: 999, payload: new Uint8Array(2500) })
        } catch (error) {
          return error
        }
      })()
      expect(up).toMatchObject({ code: ErrorCodes.E_PAYLOAD_TOO_LARGE })
      const session = s.sessions()[0]!
      const down = (() => {
        try {
          session.send({ kind: 'probe.pong', id: 999, payload: new Uint8Array(3500) })
        } catch (error) {
          return error
        }
      })()
      expect(down).toMatchObject({ code: ErrorCodes.E_PAYLOAD_TOO_LARGE })
      // Below each peer's limit: sent (the size is returned), and the sessions still work.
      expect(session.send({ kind: 'probe.pong', id: 998, payload: new Uint8Array(2900) })).toBeGreaterThan(2900)
      expect((await clientProbe.ping(sessionOf(c), new Uint8Array(1900))).payload).toHaveLength(1900)
      expect((await probe.ping(session, new Uint8Array(1900))).payload).toHaveLength(1900)
      expect(probe.disconnects).toEqual([])
    })

    it('a message over the receiver\'s maxPayload closes that connection with 1009 and a reason; exactly maxPayload passes; other sessions are untouched', async () => {
      const { server: s, probe } = await server({ maxPayload: 1024 })
      const { client: other, probe: otherProbe } = await client(s.url!)
      const raw = await t.rawClient(s.url!)
      const welcome = await hello(raw)
      const sessionId = (welcome[3] as { sessionId: string }).sessionId

      // Exactly maxPayload: the transport delivers it, the kernel answers (these bytes are not a frame: E_CODEC).
      const from = raw.messages.length
      raw.send(new Uint8Array(1024).fill(0xc1))
      const answer = await frameOf(raw, 'error', from)
      expect(answer[3]).toMatchObject({ code: ErrorCodes.E_CODEC })

      raw.send(new Uint8Array(1025))
      const closed = await closedWithin(raw)
      expect(closed.code).toBe(CloseCodes.tooLarge)
      await until(() => probe.disconnects.some((d) => d.id === sessionId))
      const gone = probe.disconnects.find((d) => d.id === sessionId)!
      expect(gone.info.code).toBe(CloseCodes.tooLarge)
      expect(gone.info.reason).toMatch(/maxPayload/)

      expect((await otherProbe.ping(sessionOf(other), 'fine')).payload).toBe('fine')
      expect(s.sessions().map((x) => x.id)).toEqual([sessionOf(other).id])
    })
  })

  describe('liveness', () => {
    it('the server closes a session whose peer stops reading (no pong) within the deadline, with 4008; a live client stays', async () => {
      const pingIntervalMs = 100
      const pingTimeoutMs = 300
      const { server: s, probe } = await server({ pingIntervalMs, pingTimeoutMs })
      const { client: c, probe: clientProbe } = await client(s.url!)
      const raw = await t.rawClient(s.url!)
      const sessionId = ((await hello(raw))[3] as { sessionId: string }).sessionId
      await until(() => raw.pings > 0, pingIntervalMs + SLACK_MS, 'a transport ping')

      raw.pause()
      const pausedAt = Date.now()
      await until(() => probe.disconnects.some((d) => d.id === sessionId), pingIntervalMs + pingTimeoutMs + SLACK_MS, 'the silent session to close')
      expect(Date.now() - pausedAt).toBeLessThanOrEqual(pingIntervalMs + pingTimeoutMs + SLACK_MS)
      const gone = probe.disconnects.find((d) => d.id === sessionId)!
      expect(gone.info.code).toBe(CloseCodes.pingTimeout)
      expect(gone.info.reason).toMatch(/ping timeout/)

      await sleep(2 * (pingIntervalMs + pingTimeoutMs))
      expect(sessionOf(c).state).toBe('open')
      expect((await clientProbe.ping(sessionOf(c), 'alive')).payload).toBe('alive')
      expect(probe.disconnects.map((d) => d.id)).toEqual([sessionId])
    })

    it('a peer that keeps reading but answers no ping is closed too', async () => {
      const { server: s, probe } = await server({ pingIntervalMs: 100, pingTimeoutMs: 200 })
      const raw = await t.rawClient(s.url!)
      const sessionId = ((await hello(raw))[3] as { sessionId: string }).sessionId
      raw.ignorePings()
      await until(() => probe.disconnects.some((d) => d.id === sessionId), 300 + SLACK_MS, 'the session to close')
      expect(probe.disconnects[0]!.info.code).toBe(CloseCodes.pingTimeout)
    })

    it("a client whose server stops pinging closes within the server's announced pingIntervalMs + pingTimeoutMs, with 4008", async () => {
      const rawServer = await t.rawServer()
      const probe = createProbe()
      // The client's own ping options are far longer: the deadline must come from the welcome.
      const c = track(await createClient({ url: rawServer.url, plugins: [t.plugin, codecMsgpack, probe.plugin], options: { [t.key]: { pingIntervalMs: 60_000, pingTimeoutMs: 60_000 } } }))
      const started = c.start()
      const link = await rawServer.accept()
      const first = await frameOf(link, 'hello')
      expect(first[3]).toMatchObject({ protocol: PROTOCOL_VERSION, limits: { maxPayload: expect.any(Number) } })
      const limits = { maxPayload: 1 << 20, pingIntervalMs: 100, pingTimeoutMs: 300 }
      // Timed from sending the welcome: the client's deadline cannot start before it reads it (from
      // \`await started\`, a loaded machine that resumes this test late made the wait look short).
      const welcomedAt = Date.now()
      link.send(encodeFrame(['welcome', null, null, { sessionId: 'raw-1', protocol: PROTOCOL_VERSION, plugins: { probe: 1 }, limits }]))
      await started
      await until(() => probe.disconnects.length === 1, 400 + SLACK_MS, 'the client to give up on its silent server')
      expect(Date.now() - welcomedAt).toBeGreaterThanOrEqual(350)
      expect(probe.disconnects[0]!.info.code).toBe(CloseCodes.pingTimeout)
      expect(probe.disconnects[0]!.info.reason).toMatch(/ping timeout/)
    })
  })

  describe('backpressure', () => {
    it('bufferedAmount grows past highWaterMark while the peer does not read; whenWritable waits for the drain, then resolves', async () => {
      const highWaterMark = 256 * 1024
      const { server: s } = await server({ highWaterMark })
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      const session = s.sessions()[0]!
      raw.pause()
      const chunk = new Uint8Array(64 * 1024)
      for (let i = 0; i < 1024 && session.bufferedAmount <= highWaterMark * 4; i++) {
        session.send({ kind: 'probe.pong', id: 0, payload: chunk })
        if (session.bufferedAmount <= highWaterMark) await new Promise((r) => setImmediate(r))
      }
      expect(session.bufferedAmount).toBeGreaterThan(highWaterMark)
      let writable = false
      const waiting = session.whenWritable().then(() => (writable = true))
      await sleep(100)
      expect(writable).toBe(false)
      const before = raw.messages.length
      raw.resume()
      await waiting
      expect(session.bufferedAmount).toBeLessThan(highWaterMark)
      await until(() => raw.messages.length > before)
      expect(decodeFrame(raw.messages[before]!)?.[0]).toBe('probe.pong')
    })

    it('whenWritable resolves at once below the mark and when the connection is gone', async () => {
      const { server: s } = await server()
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      const session = s.sessions()[0]!
      expect(session.bufferedAmount).toBe(0)
      await session.whenWritable()
      raw.destroy()
      await until(() => s.sessions().length === 0)
      await session.whenWritable()
    })
  })

  describe('close codes', () => {
    it('session.close(reason, code) reaches the peer with that code and reason', async () => {
      const { server: s } = await server()
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      s.sessions()[0]!.close('bye now', 4321)
      expect(await closedWithin(raw)).toEqual({ code: 4321, reason: 'bye now' })
    })

    it('a peer closing with a code and reason: the server reports exactly those', async () => {
      const { server: s, probe } = await server()
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      raw.close(4444, 'raw says goodbye')
      await until(() => probe.disconnects.length === 1)
      expect(probe.disconnects[0]!.info).toEqual({ code: 4444, reason: 'raw says goodbye' })
    })

    it('client.stop(): the code and reason the client closes with reach the server intact', async () => {
      const { server: s, probe } = await server()
      const { client: c, probe: clientProbe } = await client(s.url!)
      await c.stop()
      await until(() => probe.disconnects.length === 1)
      expect(clientProbe.disconnects).toHaveLength(1)
      expect(probe.disconnects[0]!.info).toEqual(clientProbe.disconnects[0]!.info)
      expect([CloseCodes.normal, CloseCodes.goingAway]).toContain(probe.disconnects[0]!.info.code)
    })

    it('server.stop() closes every client with 1001 "server stopping"', async () => {
      const { server: s } = await server()
      const clients = [await client(s.url!), await client(s.url!)]
      await s.stop()
      await until(() => clients.every((x) => x.probe.disconnects.length === 1))
      for (const x of clients) expect(x.probe.disconnects[0]!.info).toEqual({ code: CloseCodes.goingAway, reason: 'server stopping' })
    })

    it('a peer that vanishes without a close frame is reported as 1006; the others stay', async () => {
      const { server: s, probe } = await server()
      const { client: c, probe: clientProbe } = await client(s.url!)
      const raw = await t.rawClient(s.url!)
      const sessionId = ((await hello(raw))[3] as { sessionId: string }).sessionId
      raw.destroy()
      await until(() => probe.disconnects.length === 1)
      expect(probe.disconnects[0]).toMatchObject({ id: sessionId, info: { code: 1006 } })
      expect((await clientProbe.ping(sessionOf(c), 'still')).payload).toBe('still')
    })

    it('messages sent just before a close arrive before it', async () => {
      const { server: s } = await server()
      const raw = await t.rawClient(s.url!)
      await hello(raw)
      const session = s.sessions()[0]!
      const from = raw.messages.length
      for (let i = 0; i < 20; i++) session.send({ kind: 'probe.pong', id: i, payload: i })
      session.close('after twenty', 4000)
      const closed = await closedWithin(raw)
      expect(closed).toEqual({ code: 4000, reason: 'after twenty' })
      expect(raw.messages.slice(from).map((m) => decodeFrame(m)?.[1])).toEqual(Array.from({ length: 20 }, (_, i) => i))
    })
  })

  describe('TLS', () => {
    it(`serves ${t.secureScheme}:// from a cert and key; a client given the CA connects and calls`, async () => {
      const { server: s } = await server({ tls: { cert: local.cert, key: local.key } })
      expect(s.url).toMatch(new RegExp(`^${t.secureScheme}://127\\.0\\.0\\.1:\\d+$`))
      const { client: c, probe } = await client(s.url!, { tls: { ca: local.cert } })
      expect(await c.rpc.request('add', { a: 20, b: 22 })).toBe(42)
      const big = new Uint8Array(200_000).fill(9)
      expect(Buffer.from((await probe.ping(sessionOf(c), big)).payload as Uint8Array).equals(Buffer.from(big))).toBe(true)
    })

    it('refuses an untrusted certificate with E_CLOSED naming the TLS error and tls.ca; the server is unaffected', async () => {
      const { server: s } = await server({ tls: { cert: local.cert, key: local.key } })
      const { client: trusting, probe } = await client(s.url!, { tls: { ca: local.cert } })
      const untrusting = track(await createClient({ url: s.url, plugins: [t.plugin, codecMsgpack, rpc] }))
      const error = await rejection(untrusting.start())
      expect(error.code).toBe(ErrorCodes.E_CLOSED)
      expect(error.message).toMatch(/certificate .* is not trusted/)
      expect(error.message).toContain(`options['${t.key}'].tls.ca`)
      expect(error.data).toMatchObject({ tls: expect.stringMatching(/SELF_SIGNED/) })
      expect((await probe.ping(sessionOf(trusting), 'ok')).payload).toBe('ok')
    })

    it('refuses a certificate for another host name even when its CA is trusted', async () => {
      const { server: s } = await server({ tls: { cert: otherHost.cert, key: otherHost.key } })
      const c = track(await createClient({ url: s.url, plugins: [t.plugin, codecMsgpack, rpc], options: { [t.key]: { tls: { ca: otherHost.cert } } } }))
      const error = await rejection(c.start())
      expect(error.code).toBe(ErrorCodes.E_CLOSED)
      expect(error.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/)
    })

    it(`a ${t.scheme}:// client cannot talk to a ${t.secureScheme}:// server, and fails at connect`, async () => {
      const { server: s } = await server({ tls: { cert: local.cert, key: local.key } })
      const plain = track(await createClient({ url: s.url!.replace(`${t.secureScheme}:`, `${t.scheme}:`), plugins: [t.plugin, codecMsgpack, rpc], options: { [t.key]: { connectTimeoutMs: 3000 } } }))
      const error = await rejection(plain.start())
      expect(error.code).toBe(ErrorCodes.E_CLOSED)
      expect(error.message).toContain(`${t.scheme}://`)
    })
  })
})

describe('transport-tcp in a deployment config', () => {
  it("replaces preset-default's transport-ws: options false removes it, the plugin is listed, RPC works over tcp://", async () => {
    const config = (extra: Partial<EchoConfig>): EchoConfig => ({
      preset: '@echostream/preset-default',
      plugins: ['@echostream/plugin-transport-tcp'],
      options: { 'transport-ws': false, 'transport-tcp': { host: '127.0.0.1', port: 0 } },
      ...extra,
    })
    const s = track(await createServer(config({}), { cwd: TEST_ROOT }))
    s.rpc.handle('add', ({ a, b }: { a: number; b: number }) => a + b)
    expect(s.plugins().map((p) => p.name).sort()).toEqual(['codec-msgpack', 'events', 'rpc', 'transport-tcp'])
    await s.start()
    expect(s.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const c = track(await createClient(config({ url: s.url }), { cwd: TEST_ROOT }))
    await c.start()
    expect(await c.rpc.request('add', { a: 2, b: 3 })).toBe(5)
  })
})

// The hello helper's frame stays in step with the kernel's protocol version.
it('the raw hello speaks the kernel protocol version', () => {
  expect(decodeFrame(helloFrame())?.[3]).toMatchObject({ protocol: PROTOCOL_VERSION })
})
