/**
 * The ws transport on its own (no kernel): real sockets on 127.0.0.1 port 0. Listening and the
 * bound URL, binary both ways, close codes, maxPayload, backpressure through bufferedAmount, TLS.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { CloseCodes, EchoError, monotonicMicros, type Connection } from '@echostream/kernel'
import { WsServer } from '../../src/server.js'
import { connectNode } from '../../src/client.js'
import { schema, type WsTransportOptions } from '../../src/options.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** The schema's defaults, with overrides (what the kernel hands the plugin after validation). */
function options(overrides: Partial<WsTransportOptions> = {}): WsTransportOptions {
  const defaults = Object.fromEntries(Object.entries(schema.properties).filter(([, p]) => 'default' in p).map(([k, p]) => [k, (p as { default: unknown }).default]))
  return { ...defaults, ...overrides } as WsTransportOptions
}

async function listen(overrides: Partial<WsTransportOptions> = {}, baseDir = process.cwd()) {
  const server = new WsServer(options(overrides), baseDir)
  const accepted: Connection[] = []
  const url = await server.listen((connection) => void accepted.push(connection))
  cleanups.push(() => server.close())
  return { server, url, accepted }
}

async function connect(url: string, overrides: Partial<WsTransportOptions> = {}): Promise<Connection> {
  const connection = await connectNode(url, options(overrides), process.cwd())
  cleanups.push(() => connection.close(CloseCodes.normal, 'test over'))
  return connection
}

function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const poll = () => (predicate() ? resolve() : Date.now() > deadline ? reject(new Error('timed out')) : setTimeout(poll, 5))
    poll()
  })
}

function collect(connection: Connection) {
  const messages: Uint8Array[] = []
  const closes: Array<{ code: number; reason: string }> = []
  connection.onMessage = (bytes) => void messages.push(bytes)
  connection.onClose = (code, reason) => void closes.push({ code, reason })
  return { messages, closes }
}

describe('transport-ws server and Node client', () => {
  it('listens on port 0 and reports the bound URL, with the path when not /', async () => {
    const { url } = await listen()
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:(\d+)$/)
    expect(Number(new URL(url).port)).toBeGreaterThan(0)
    const { url: withPath, accepted } = await listen({ path: '/echo' })
    expect(withPath).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/echo$/)
    await connect(withPath)
    await until(() => accepted.length === 1)
  })

  it('answers plain HTTP with 426 Upgrade Required', async () => {
    const { url } = await listen()
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(url.replace('ws:', 'http:'), (res) => {
        res.resume()
        resolve(res.statusCode)
      })
        .on('error', reject)
        .end()
    })
    expect(status).toBe(426)
  })

  it('refuses to listen on a port in use with E_CONFIG saying so', async () => {
    const { url } = await listen()
    const error = await new WsServer(options({ port: Number(new URL(url).port) }), process.cwd()).listen(() => {}).catch((e: unknown) => e)
    expect(EchoError.is(error)).toBe(true)
    expect(error).toMatchObject({ code: 'E_CONFIG' })
    expect((error as Error).message).toMatch(/port is in use/)
  })

  it('moves binary both ways, bytes intact, with peer addresses', async () => {
    const { url, accepted } = await listen()
    const client = await connect(url)
    await until(() => accepted.length === 1)
    const server = accepted[0]!
    const atServer = collect(server)
    const atClient = collect(client)
    expect(server.peer).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(client.peer).toBe(new URL(url).host)

    const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 256)
    client.send(new Uint8Array([1, 2, 3]))
    client.send(big) // several sends in one turn are coalesced into one write; each stays one message
    // An empty message is the heartbeat (PROTOCOL.md): the server answers it, neither side delivers it.
    client.send(new Uint8Array([]))
    client.send(new Uint8Array([4]))
    await until(() => atServer.messages.length === 3)
    expect([...atServer.messages[0]!]).toEqual([1, 2, 3])
    expect(Buffer.from(atServer.messages[1]!).equals(Buffer.from(big))).toBe(true)
    expect([...atServer.messages[2]!]).toEqual([4])

    server.send(new Uint8Array([255, 0]))
    await until(() => atClient.messages.length === 1)
    expect(atClient.messages[0]).toBeInstanceOf(Uint8Array)
    expect([...atClient.messages[0]!]).toEqual([255, 0])
  })

  it("swaps ws's receive queue for a fresh array after the first message (its grown capacity would stay with an idle connection), and keeps receiving", async () => {
    const { url, accepted } = await listen()
    const client = await connect(url)
    await until(() => accepted.length === 1)
    const server = accepted[0]!
    const atServer = collect(server)
    const receiver = () => (server as unknown as { socket: { _receiver: { _buffers: unknown[] } } }).socket._receiver
    const before = receiver()._buffers
    client.send(new Uint8Array([1]))
    await until(() => atServer.messages.length === 1)
    expect(receiver()._buffers).not.toBe(before)
    expect(receiver()._buffers).toHaveLength(0)
    // Once only: later messages leave ws's queue alone, and every byte still arrives.
    const after = receiver()._buffers
    const big = new Uint8Array(200_000).map((_, i) => i % 251)
    client.send(new Uint8Array([2]))
    client.send(big)
    await until(() => atServer.messages.length === 3)
    expect(receiver()._buffers).toBe(after)
    expect([...atServer.messages[1]!]).toEqual([2])
    expect(Buffer.from(atServer.messages[2]!).equals(Buffer.from(big))).toBe(true)
  })

  it('the server answers a peer\'s ping with a pong of the same data (ws\'s autoPong is off: the connection answers)', async () => {
    const { url, accepted } = await listen()
    const raw = new WebSocket(url)
    cleanups.push(() => raw.terminate())
    await new Promise((resolve, reject) => raw.once('open', resolve).once('error', reject))
    await until(() => accepted.length === 1)
    const pongs: string[] = []
    raw.on('pong', (data: Buffer) => void pongs.push(data.toString()))
    raw.ping(Buffer.from('one'))
    raw.ping(Buffer.from('two'))
    await until(() => pongs.length === 2)
    expect(pongs).toEqual(['one', 'two'])
    expect((accepted[0] as unknown as { isClosed: boolean }).isClosed).toBe(false)
  })

  it('stamps each read before ws parses it with one data listener per socket (ws\'s, wrapped), which ws removes as its own when the socket closes', async () => {
    const { url, accepted } = await listen()
    const client = await connect(url)
    await until(() => accepted.length === 1)
    const server = accepted[0]!
    type Raw = { rawListeners(event: string): Array<{ listener?: unknown }>; listenerCount(event: string): number }
    const rawOf = (c: Connection) => (c as unknown as { socket: { _socket: Raw } }).socket._socket
    const raw = rawOf(server)
    expect(raw.rawListeners('data')).toHaveLength(1)
    expect(typeof raw.rawListeners('data')[0]!.listener).toBe('function')
    const stamps: number[] = []
    server.onMessage = (_bytes, arrivedAt) => void stamps.push(arrivedAt)
    const before = monotonicMicros()
    client.send(new Uint8Array([1]))
    client.send(new Uint8Array([2]))
    await until(() => stamps.length === 2)
    const after = monotonicMicros()
    for (const stamp of stamps) {
      expect(stamp).toBeGreaterThanOrEqual(before)
      expect(stamp).toBeLessThanOrEqual(after)
    }
    client.close(CloseCodes.normal, 'bye')
    await until(() => raw.listenerCount('data') === 0)
  })

  it('close(code, reason) reaches both sides with that code and reason', async () => {
    const { url, accepted } = await listen()
    const client = await connect(url)
    await until(() => accepted.length === 1)
    const atServer = collect(accepted[0]!)
    const atClient = collect(client)
    accepted[0]!.close(4321, 'bye now')
    await until(() => atServer.closes.length === 1 && atClient.closes.length === 1)
    expect(atServer.closes[0]).toEqual({ code: 4321, reason: 'bye now' })
    expect(atClient.closes[0]).toEqual({ code: 4321, reason: 'bye now' })
    // Sending after close is a no-op, not a throw.
    expect(() => client.send(new Uint8Array([1]))).not.toThrow()
  })

  it('server.close() closes every connection with 1001 and frees the port', async () => {
    const { server, url, accepted } = await listen()
    const clients = [await connect(url), await connect(url)]
    await until(() => accepted.length === 2)
    const seen = clients.map(collect)
    await server.close()
    await until(() => seen.every((s) => s.closes.length === 1))
    for (const s of seen) expect(s.closes[0]).toEqual({ code: CloseCodes.goingAway, reason: 'server stopping' })
    const error = await connectNode(url, options(), process.cwd()).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_CLOSED', retryable: true })
  })

  it('a message over maxPayload closes that connection with 1009 and a reason', async () => {
    const { url, accepted } = await listen({ maxPayload: 1000 })
    const client = await connect(url)
    const other = await connect(url)
    await until(() => accepted.length === 2)
    const atServer = collect(accepted[0]!)
    const atClient = collect(client)
    const atOtherServer = collect(accepted[1]!)
    client.send(new Uint8Array(1001))
    await until(() => atServer.closes.length === 1 && atClient.closes.length === 1)
    expect(atServer.messages).toEqual([])
    expect(atServer.closes[0]!.code).toBe(CloseCodes.tooLarge)
    expect(atServer.closes[0]!.reason).toMatch(/maxPayload/)
    expect(atClient.closes[0]!.code).toBe(CloseCodes.tooLarge)
    // A message of exactly maxPayload passes on the other connection.
    other.send(new Uint8Array(1000))
    await until(() => atOtherServer.messages.length === 1)
    expect(atOtherServer.closes).toEqual([])
  })

  it('reports backpressure: bufferedAmount grows past highWaterMark while the peer does not read, whenWritable waits for the drain', async () => {
    const { url, accepted } = await listen({ highWaterMark: 256 * 1024 })
    // A raw peer that stops reading.
    const peer = new WebSocket(url)
    cleanups.push(() => peer.terminate())
    await new Promise((resolve) => peer.once('open', resolve))
    await until(() => accepted.length === 1)
    const server = accepted[0]!
    let received = 0
    peer.on('message', (data: Buffer) => (received += data.length))
    ;(peer as unknown as { _socket: { pause(): void } })._socket.pause()

    const chunk = new Uint8Array(64 * 1024)
    for (let i = 0; i < 512 && server.bufferedAmount < server.highWaterMark * 4; i++) {
      server.send(chunk)
      await new Promise((r) => setImmediate(r))
    }
    expect(server.bufferedAmount).toBeGreaterThan(server.highWaterMark)
    let writable = false
    const waiting = server.whenWritable().then(() => (writable = true))
    await new Promise((r) => setTimeout(r, 100))
    expect(writable).toBe(false)

    ;(peer as unknown as { _socket: { resume(): void } })._socket.resume()
    await waiting
    expect(server.bufferedAmount).toBeLessThan(server.highWaterMark)
    await until(() => received > 0)
  })

  it('whenWritable below the socket\'s own 16 KiB mark waits without polling (no busy loop while the peer is paused)', async () => {
    const { url, accepted } = await listen({ highWaterMark: 1000 })
    const peer = new WebSocket(url)
    cleanups.push(() => peer.terminate())
    await new Promise((resolve) => peer.once('open', resolve))
    await until(() => accepted.length === 1)
    const server = accepted[0]!
    ;(peer as unknown as { _socket: { pause(): void } })._socket.pause()
    // Fill the kernel's socket buffers until bytes stay queued in Node, but under the net socket's 16 KiB mark.
    const chunk = new Uint8Array(4000)
    for (let i = 0; i < 10_000 && server.bufferedAmount < 5000; i++) {
      server.send(chunk)
      await new Promise((r) => setImmediate(r))
    }
    expect(server.bufferedAmount).toBeGreaterThanOrEqual(5000)
    expect(server.bufferedAmount).toBeLessThan(16 * 1024)
    let writable = false
    const immediates = vi.spyOn(globalThis, 'setImmediate')
    const waiting = server.whenWritable().then(() => (writable = true))
    await new Promise((r) => setTimeout(r, 200))
    const spins = immediates.mock.calls.length
    immediates.mockRestore()
    expect(writable).toBe(false)
    expect(spins).toBeLessThan(5)
    ;(peer as unknown as { _socket: { resume(): void } })._socket.resume()
    await waiting
    expect(server.bufferedAmount).toBeLessThan(1000)
  })

  it('a client to a closed port fails with E_CLOSED, retryable, naming the URL', async () => {
    const { server, url } = await listen()
    await server.close()
    const error = await connectNode(url, options(), process.cwd()).catch((e: unknown) => e)
    expect(EchoError.is(error)).toBe(true)
    expect(error).toMatchObject({ code: 'E_CLOSED', retryable: true })
    expect((error as Error).message).toContain(url)
  })
})

describe('transport-ws TLS', () => {
  /** A self-signed certificate for 127.0.0.1 (openssl). */
  function makeCert(): { dir: string; cert: string; key: string } {
    const dir = mkdtempSync(join(tmpdir(), 'echostream-tls-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    return { dir, cert: 'cert.pem', key: 'key.pem' }
  }

  it('serves wss:// from PEM files resolved from the config folder; a client trusts it only with its CA', async () => {
    const { dir, cert, key } = makeCert()
    const { url, accepted } = await listen({ tls: { cert, key, rejectUnauthorized: true } }, dir)
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/)

    const untrusted = await connectNode(url, options(), dir).catch((e: unknown) => e)
    expect(untrusted).toMatchObject({ code: 'E_CLOSED' })
    expect((untrusted as Error).message).toMatch(/not trusted.*tls\.ca/)

    const client = await connectNode(url, options({ tls: { ca: cert, rejectUnauthorized: true } }), dir)
    cleanups.push(() => client.close(CloseCodes.normal, 'done'))
    await until(() => accepted.length === 1)
    const atServer = collect(accepted[0]!)
    client.send(new Uint8Array([42]))
    await until(() => atServer.messages.length === 1)
    expect([...atServer.messages[0]!]).toEqual([42])
  })

  it('refuses half a TLS config and unreadable PEM files with E_CONFIG', async () => {
    const onlyCert = await new WsServer(options({ tls: { cert: 'x.pem', rejectUnauthorized: true } }), process.cwd()).listen(() => {}).catch((e: unknown) => e)
    expect(onlyCert).toMatchObject({ code: 'E_CONFIG' })
    expect((onlyCert as Error).message).toMatch(/needs both cert and key/)
    const missing = await new WsServer(options({ tls: { cert: 'nope.pem', key: 'nope.pem', rejectUnauthorized: true } }), '/nonexistent').listen(() => {}).catch((e: unknown) => e)
    expect(missing).toMatchObject({ code: 'E_CONFIG' })
    expect((missing as Error).message).toMatch(/Cannot read TLS file 'nope.pem'/)
  })
})
