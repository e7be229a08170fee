/**
 * `wss://` from a page: the server serves a self-signed certificate this test makes with the
 * `openssl` CLI, and Chromium is told to trust exactly that certificate's key
 * (`--ignore-certificate-errors-spki-list`, base64 of the SHA-256 of its SubjectPublicKeyInfo,
 * computed with node:crypto). A second certificate for the same address, not in the list, must be
 * refused — so the test fails if the page would connect to anything.
 */
import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EchoKernel, Session } from '@echostream/kernel'
import { startHarness, type Harness } from './helpers/harness.js'
import { startServer } from './helpers/server.js'
import { track, until } from '../helpers/fixtures.js'

interface Pair {
  cert: string
  key: string
}

let dir: string
let trusted: Pair
let untrusted: Pair
let harness: Harness

/** A self-signed P-256 certificate for 127.0.0.1, valid for a day (as in test/integration/tls.test.ts). */
function selfSigned(name: string): Pair {
  const certFile = join(dir, `${name}.cert.pem`)
  const keyFile = join(dir, `${name}.key.pem`)
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=echostream ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  )
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
}

/** What `--ignore-certificate-errors-spki-list` takes: base64(sha256(DER SubjectPublicKeyInfo)). */
function spkiHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

beforeAll(async () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' })
  } catch {
    throw new Error('This test makes certificates with the openssl CLI: install openssl (apt-get install openssl).')
  }
  dir = mkdtempSync(join(tmpdir(), 'echostream-wss-'))
  trusted = selfSigned('trusted')
  untrusted = selfSigned('untrusted')
  harness = await startHarness({ args: [`--ignore-certificate-errors-spki-list=${spkiHash(trusted.cert)}`] })
})

afterAll(async () => {
  await harness?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function wssServer(pair: Pair): Promise<EchoKernel> {
  return track(await startServer({ 'transport-ws': { tls: { cert: pair.cert, key: pair.key } } }))
}

describe('browser client over wss://', () => {
  it('connects to a server whose certificate the browser trusts: RPC both ways, an event, a clean stop', async () => {
    const srv = await wssServer(trusted)
    expect(srv.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/)
    srv.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
    const heard: unknown[] = []
    srv.events.on('hello', (data: unknown) => void heard.push(data))
    const closes: number[] = []
    srv.hooks.disconnect.tap('test', (_session: Session, info: { code: number }) => void closes.push(info.code))
    const { page, errors } = await harness.newPage()
    const sum = await page.evaluate(async (url) => {
      const client = (window.client = await window.echostream.createClient({ url }))
      client.rpc.handle('page.protocol', () => location.protocol)
      await client.start()
      client.events.emit('hello', 'over tls')
      return client.rpc.request('math.add', { a: 2, b: 3 })
    }, srv.url!)
    expect(sum).toBe(5)
    expect(await srv.sessions()[0]!.request('page.protocol')).toBe('http:')
    await until(() => heard.length === 1, 5000, 'the event')
    expect(heard).toEqual(['over tls'])
    await page.evaluate(() => window.client.stop())
    await until(() => closes.length === 1, 2000, 'the server to see the close')
    expect(closes).toEqual([1000])
    expect(errors).toEqual([])
  })

  it('refuses a certificate for the same address that the browser was not told to trust', async () => {
    const srv = await wssServer(untrusted)
    const { page } = await harness.newPage()
    const outcome = await page.evaluate(async (url) => {
      const client = await window.echostream.createClient({ url, options: { reconnect: false } })
      return client.start().then(
        () => 'connected',
        (e: { code?: string; message?: string }) => `refused: ${e.code ?? ''} ${e.message ?? ''}`,
      )
    }, srv.url!)
    expect(outcome).toMatch(/^refused: /)
    expect(srv.sessions()).toEqual([])
  })
})
