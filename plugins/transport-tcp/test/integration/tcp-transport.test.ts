/**
 * What only the TCP transport has (the shared transport tests are in
 * test/integration/transport-conformance.test.ts): the preamble, hostile bytes on a raw socket,
 * the maxPayload bound read from a header alone, URLs, TLS files. (Swapping it into a preset from a
 * config: test/integration/transport-conformance.test.ts.)
 * Real sockets on 127.0.0.1 port 0.
 */
import { execFileSync } from 'node:child_process'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CloseCodes, EchoError, type Connection } from '@echostream/kernel'
import { parseTcpUrl } from '../../src/index.js'
import { TcpServer } from '../../src/server.js'
import { connectTcp } from '../../src/client.js'
import { schema, type TcpTransportOptions } from '../../src/options.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

const PREAMBLE = Buffer.from('ECHOTCP\x01', 'latin1')

function options(overrides: Partial<TcpTransportOptions> = {}): TcpTransportOptions {
  const defaults = Object.fromEntries(Object.entries(schema.properties).filter(([, p]) => 'default' in p).map(([k, p]) => [k, (p as { default: unknown }).default]))
  return { ...defaults, ...overrides } as TcpTransportOptions
}

async function listen(overrides: Partial<TcpTransportOptions> = {}, baseDir = process.cwd()) {
  const server = new TcpServer(options(overrides), baseDir)
  const accepted: Connection[] = []
  const url = await server.listen((connection) => void accepted.push(connection))
  cleanups.push(() => server.close())
  return { server, url, accepted }
}

function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const poll = () => (predicate() ? resolve() : Date.now() > deadline ? reject(new Error('timed out')) : setTimeout(poll, 5))
    poll()
  })
}

/** A raw socket to `url` that records every byte it receives and when it closed. */
async function rawSocket(url: string, allowHalfOpen = false) {
  const { host, port } = parseTcpUrl(url)
  const socket = connect({ host, port, allowHalfOpen })
  cleanups.push(() => socket.destroy())
  let received = Buffer.alloc(0)
  let closed = false
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])))
  socket.on('close', () => (closed = true))
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  return { socket, received: () => received, closed: () => closed }
}

/** The close frame in `bytes` after the preamble: code and reason. */
function closeFrameIn(bytes: Buffer): { code: number; reason: string } | undefined {
  let at = PREAMBLE.length
  while (at + 5 <= bytes.length) {
    const type = bytes[at]!
    const length = bytes.readUInt32BE(at + 1)
    if (type === 4) return { code: bytes.readUInt16BE(at + 5), reason: bytes.subarray(at + 7, at + 5 + length).toString('utf8') }
    at += 5 + length
  }
  return undefined
}

describe('transport-tcp', () => {
  it('parses tcp:// and tcps:// URLs and refuses anything else with E_CONFIG', async () => {
    expect(parseTcpUrl('tcp://127.0.0.1:7000')).toEqual({ secure: false, host: '127.0.0.1', port: 7000 })
    expect(parseTcpUrl('tcps://[::1]:7001')).toEqual({ secure: true, host: '::1', port: 7001 })
    for (const bad of ['ws://127.0.0.1:7000', 'tcp://127.0.0.1', 'tcp://127.0.0.1:7000/path', 'not a url']) {
      expect(() => parseTcpUrl(bad), bad).toThrow(/tcp:\/\/host:port or tcps:\/\/host:port/)
    }
    const error = await connectTcp('ws://127.0.0.1:1', options(), process.cwd()).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_CONFIG' })
    expect((error as Error).message).toMatch(/load transport-ws instead/)
  })

  it('refuses to listen on a port in use with E_CONFIG saying so', async () => {
    const { url } = await listen()
    const error = await new TcpServer(options({ port: Number(new URL(url).port) }), process.cwd()).listen(() => {}).catch((e: unknown) => e)
    expect(EchoError.is(error)).toBe(true)
    expect(error).toMatchObject({ code: 'E_CONFIG' })
    expect((error as Error).message).toMatch(/port is in use/)
  })

  it('writes its preamble at once, hands a connection to the kernel only after the client\'s, and reads frames after it', async () => {
    const { url, accepted } = await listen()
    const raw = await rawSocket(url)
    await until(() => raw.received().length >= 8)
    expect(raw.received().subarray(0, 8)).toEqual(PREAMBLE)
    expect(accepted).toHaveLength(0)
    // The preamble and a message in one write, the message's header cut from its body by a pause.
    raw.socket.write(Buffer.concat([PREAMBLE, Buffer.from([1, 0, 0, 0, 3])]))
    await until(() => accepted.length === 1)
    const messages: Uint8Array[] = []
    accepted[0]!.onMessage = (bytes) => void messages.push(bytes)
    raw.socket.write(Buffer.from([7, 8, 9]))
    await until(() => messages.length === 1)
    expect([...messages[0]!]).toEqual([7, 8, 9])
  })

  it('closes a declared length above maxPayload with 1009 from the header alone, before any body byte arrives', async () => {
    const { url, accepted } = await listen({ maxPayload: 1000 })
    const raw = await rawSocket(url)
    raw.socket.write(PREAMBLE)
    await until(() => accepted.length === 1)
    const closes: Array<{ code: number; reason: string }> = []
    accepted[0]!.onClose = (code, reason) => void closes.push({ code, reason })
    raw.socket.write(Buffer.from([1, 0xff, 0xff, 0xff, 0xff])) // 4 GiB declared, nothing sent
    await until(() => closes.length === 1 && raw.closed())
    expect(closes[0]!.code).toBe(CloseCodes.tooLarge)
    expect(closes[0]!.reason).toMatch(/4294967295 bytes is larger than maxPayload \(1000\)/)
    const frame = closeFrameIn(raw.received())
    expect(frame?.code).toBe(CloseCodes.tooLarge)
    expect(frame?.reason).toMatch(/maxPayload/)
  })

  it('an unknown frame type closes that connection with 1002; others are untouched', async () => {
    const { url, accepted } = await listen()
    const good = await connectTcp(url, options(), process.cwd())
    cleanups.push(() => good.close(1000, 'done'))
    const raw = await rawSocket(url)
    raw.socket.write(Buffer.concat([PREAMBLE, Buffer.from([9, 0, 0, 0, 0])]))
    await until(() => raw.closed())
    expect(closeFrameIn(raw.received())).toMatchObject({ code: CloseCodes.protocolError, reason: expect.stringMatching(/unknown frame type 0x09/) })
    await until(() => accepted.length >= 1)
    const messages: Uint8Array[] = []
    const serverSide = accepted[0]!
    serverSide.onMessage = (bytes) => void messages.push(bytes)
    good.send(Uint8Array.of(1))
    await until(() => messages.length === 1)
  })

  it('answers a client that is not echostream (an HTTP request) with a 1002 close frame; it never becomes a connection', async () => {
    const { url, accepted } = await listen()
    const raw = await rawSocket(url)
    raw.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await until(() => raw.closed())
    expect(closeFrameIn(raw.received())).toMatchObject({ code: CloseCodes.protocolError, reason: expect.stringMatching(/not an echostream TCP peer/) })
    expect(accepted).toHaveLength(0)
  })

  it('drops a socket that sends no preamble within connectTimeoutMs', async () => {
    const { url, accepted } = await listen({ connectTimeoutMs: 200 })
    const raw = await rawSocket(url)
    const t0 = Date.now()
    await until(() => raw.closed(), 3000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150)
    expect(accepted).toHaveLength(0)
  })

  it('a client refuses a server that is not echostream TCP, saying what it looks like', async () => {
    const http = createHttpServer((_req, res) => res.end('hello'))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
    cleanups.push(() => new Promise((resolve) => http.close(resolve)))
    http.on('connection', (socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'))
    const url = `tcp://127.0.0.1:${(http.address() as AddressInfo).port}`
    const error = await connectTcp(url, options({ connectTimeoutMs: 3000 }), process.cwd()).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_CLOSED' })
    expect((error as Error).message).toMatch(/is not an echostream TCP server.*looks like an HTTP server/)
  })

  it('a client refuses a server of another framing version with E_INCOMPATIBLE', async () => {
    const sockets: Socket[] = []
    const other = createNetServer((socket) => {
      sockets.push(socket)
      socket.on('error', () => {})
      socket.write(Buffer.from('ECHOTCP\x02', 'latin1'))
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', () => resolve()))
    cleanups.push(() => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), other.close(resolve))))
    const error = await connectTcp(`tcp://127.0.0.1:${(other.address() as AddressInfo).port}`, options(), process.cwd()).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_INCOMPATIBLE' })
    expect((error as Error).message).toMatch(/framing version 2; this client speaks 1/)
  })

  it('destroys a socket whose peer does not end its side within closeTimeoutMs of a close frame', async () => {
    const { url, accepted } = await listen({ closeTimeoutMs: 200 })
    const raw = await rawSocket(url, true) // half-open allowed: it reads the close frame and never ends
    raw.socket.write(PREAMBLE)
    await until(() => accepted.length === 1)
    const closes: number[] = []
    accepted[0]!.onClose = (code) => void closes.push(code)
    const t0 = Date.now()
    accepted[0]!.close(4100, 'leaving') // the raw peer never ends its side
    await until(() => closes.length === 1, 3000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150)
    expect(closes).toEqual([4100])
  })

  it('TLS: reads PEM files from the config folder; refuses half a TLS config with E_CONFIG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echostream-tcp-tls-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    const { url, accepted } = await listen({ tls: { cert: 'cert.pem', key: 'key.pem', rejectUnauthorized: true } }, dir)
    expect(url).toMatch(/^tcps:\/\/127\.0\.0\.1:\d+$/)
    const client = await connectTcp(url, options({ tls: { ca: 'cert.pem', rejectUnauthorized: true } }), dir)
    cleanups.push(() => client.close(1000, 'done'))
    await until(() => accepted.length === 1)
    const messages: Uint8Array[] = []
    accepted[0]!.onMessage = (bytes) => void messages.push(bytes)
    client.send(new Uint8Array(100_000).fill(3))
    await until(() => messages.length === 1)
    expect(messages[0]!.byteLength).toBe(100_000)

    const half = await new TcpServer(options({ tls: { cert: 'cert.pem', rejectUnauthorized: true } }), dir).listen(() => {}).catch((e: unknown) => e)
    expect(half).toMatchObject({ code: 'E_CONFIG' })
    expect((half as Error).message).toMatch(/needs both cert and key/)
    const missing = await new TcpServer(options({ tls: { cert: 'nope.pem', key: 'nope.pem', rejectUnauthorized: true } }), dir).listen(() => {}).catch((e: unknown) => e)
    expect(missing).toMatchObject({ code: 'E_CONFIG' })
    expect((missing as Error).message).toMatch(/Cannot read TLS file 'nope.pem'/)
  })
})
