/**
 * transport-ws over TLS (wss://) with certificates this test makes with the `openssl` CLI: a
 * self-signed certificate for 127.0.0.1/localhost, and one for another host name.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCodes } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import auth from '@echostream/plugin-auth'
import { track } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, rejection, startClient, startServer, transportWs } from '../helpers/wire.js'

interface Pair {
  cert: string
  key: string
  certFile: string
}

let dir: string
let local: Pair
let otherHost: Pair

/** A self-signed P-256 certificate valid for a day, for `san` (e.g. "IP:127.0.0.1,DNS:localhost"). */
function selfSigned(name: string, san: string): Pair {
  const certFile = join(dir, `${name}.cert.pem`)
  const keyFile = join(dir, `${name}.key.pem`)
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=echostream ${name}`, '-addext', `subjectAltName=${san}`, '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  )
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile }
}

beforeAll(() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' })
  } catch {
    throw new Error('These tests make certificates with the openssl CLI: install openssl (apt-get install openssl).')
  }
  dir = mkdtempSync(join(tmpdir(), 'echostream-tls-'))
  local = selfSigned('local', 'IP:127.0.0.1,DNS:localhost')
  otherHost = selfSigned('other', 'DNS:not-this-host.example')
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('TLS (Must show 4)', () => {
  it('serves wss:// from a cert and key; a client given the CA connects and round-trips', async () => {
    const { server, probe } = await startServer({ transport: { tls: { cert: local.cert, key: local.key } } })
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/)
    const { client, probe: clientProbe } = await startClient(server.url!, { transport: { tls: { ca: local.cert } } })
    const pong = await clientProbe.ping(client.session!, new Uint8Array([1, 2, 3]))
    expect(Buffer.from(pong.payload as Uint8Array)).toEqual(Buffer.from([1, 2, 3]))
    expect(probe.pings).toHaveLength(1)
    expect(server.sessions()).toHaveLength(1)
  })

  it('reads the CA from a file path resolved from the config folder', async () => {
    const { server } = await startServer({ transport: { tls: { cert: local.certFile, key: local.key } } })
    const probe = createProbe()
    const client = track(await createClient({ url: server.url, root: dir, plugins: [transportWs, codecMsgpack, probe.plugin], options: { 'transport-ws': { tls: { ca: './local.cert.pem' } } } }))
    await client.start()
    expect((await probe.ping(client.session!, 'file')).payload).toBe('file')
  })

  it('refuses a client that does not trust the certificate with E_CLOSED and a message that says how to fix it; the server is unaffected', async () => {
    const { server } = await startServer({ transport: { tls: { cert: local.cert, key: local.key } } })
    const { client: trusting, probe: trustingProbe } = await startClient(server.url!, { transport: { tls: { ca: local.cert } } })

    const untrusting = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, createProbe().plugin] }))
    const error = await rejection(untrusting.start())
    expect(error.code).toBe(ErrorCodes.E_CLOSED)
    expect(error.message).toMatch(/TLS/)
    expect(error.message).toMatch(/certificate .* is not trusted/)
    expect(error.message).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN/)
    expect(error.message).toMatch(/options\['transport-ws'\]\.tls\.ca/)
    expect(error.data).toMatchObject({ tls: expect.any(String) })
    expect(untrusting.session).toBeUndefined()

    expect((await trustingProbe.ping(trusting.session!, 'still here')).payload).toBe('still here')
    expect(server.sessions()).toHaveLength(1)
  })

  it('refuses a certificate for another host name even when its CA is trusted', async () => {
    const { server } = await startServer({ transport: { tls: { cert: otherHost.cert, key: otherHost.key } } })
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, createProbe().plugin], options: { 'transport-ws': { tls: { ca: otherHost.cert } } } }))
    const error = await rejection(client.start())
    expect(error.code).toBe(ErrorCodes.E_CLOSED)
    expect(error.message).toMatch(/TLS.*ERR_TLS_CERT_ALTNAME_INVALID/)
  })

  it('connects without verification only when rejectUnauthorized is false', async () => {
    const { server } = await startServer({ transport: { tls: { cert: local.cert, key: local.key } } })
    const { client, probe } = await startClient(server.url!, { transport: { tls: { rejectUnauthorized: false } } })
    expect((await probe.ping(client.session!, 'insecure')).payload).toBe('insecure')
  })

  it('a ws:// client cannot talk to a wss:// server', async () => {
    const { server } = await startServer({ transport: { tls: { cert: local.cert, key: local.key } } })
    const plain = track(await createClient({ url: server.url!.replace('wss:', 'ws:'), plugins: [transportWs, codecMsgpack, createProbe().plugin] }))
    const error = await rejection(plain.start())
    expect(error.code).toBe(ErrorCodes.E_CLOSED)
    expect(error.message).toMatch(/^Cannot connect to ws:\/\//)
  })

  it('carries auth credentials over wss://, and refuses a wrong token there too', async () => {
    const authOptions = { authenticate: (token: unknown) => (token === 's3cret' ? { id: 'tls-user' } : false), throttle: { enabled: false } }
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, auth],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0, tls: { cert: local.cert, key: local.key } }, auth: authOptions },
      }),
    )
    await server.start()
    expect(server.url).toMatch(/^wss:/)
    const client = (credentials: string) =>
      createClient({ url: server.url, plugins: [transportWs, codecMsgpack, auth], options: { 'transport-ws': { tls: { ca: local.cert } }, auth: { credentials } } }).then(track)
    const good = await client('s3cret')
    await good.start()
    expect(server.auth.identity(server.getSession(good.session!.id)!)).toEqual({ id: 'tls-user' })
    const wrong = await rejection((await client('guess')).start())
    expect(wrong.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(good.session!.state).toBe('open')
  })
})
