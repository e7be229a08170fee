/**
 * The auth plugin's static tokens from a JSON config file (no function can be written there),
 * over real WebSockets: a listed token admits its identity (typed into rules and handlers), any
 * other is refused with E_UNAUTHORIZED, an authenticate function sees only the peers no token
 * matched, and a token entry without an identity is a config error before anything listens.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EchoError, type EchoKernel } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import auth from '@echostream/plugin-auth'
import { createClient, createServer } from '../helpers/create.js'
import { tempDir, track } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

type Rpc = { rpc: { handle(m: string, fn: (p: unknown, ctx: { session: unknown }) => unknown): void; request(m: string, p?: unknown): Promise<unknown> } }

// Plugin names resolve from the test package, which depends on them (`root`).
const TEST_PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..')

function jsonConfig(auth: Record<string, unknown>): string {
  const dir = tempDir({
    'echostream.config.json': JSON.stringify({
      root: TEST_PACKAGE,
      plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', '@echostream/plugin-rpc', '@echostream/plugin-auth'],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, auth: { throttle: { enabled: false }, ...auth } },
    }),
  })
  return join(dir, 'echostream.config.json')
}

async function connect(url: string, credentials: unknown): Promise<EchoKernel & Rpc> {
  const client = track(await createClient({ url, plugins: [transportWs, codecMsgpack, rpc, auth], options: { auth: { credentials } } })) as EchoKernel & Rpc
  await client.start()
  return client
}

describe('auth: static tokens', () => {
  it('from a JSON config: a listed token admits its identity, any other is refused', async () => {
    process.env.AUTH_TOKENS_TEST_OPS = 'ops-secret-from-env'
    const server = track(
      await createServer(
        jsonConfig({
          tokens: [
            { token: '${AUTH_TOKENS_TEST_OPS}', identity: { id: 'ops', role: 'admin' } },
            { token: 'ingest-secret', identity: { id: 'ingest', role: 'service' } },
          ],
          rules: { roles: { admin: ['*'], service: ['rpc:ingest.*'] } },
        }),
      ),
    ) as EchoKernel & Rpc & { auth: { identity(s: unknown): unknown } }
    server.rpc.handle('whoami', (_p, ctx) => server.auth.identity(ctx.session))
    server.rpc.handle('ingest.put', () => 'stored')
    await server.start()

    const ops = await connect(server.url!, 'ops-secret-from-env')
    expect(await ops.rpc.request('whoami')).toEqual({ id: 'ops', role: 'admin' })
    const ingest = await connect(server.url!, 'ingest-secret')
    expect(await ingest.rpc.request('ingest.put')).toBe('stored')
    expect((await rejection(ingest.rpc.request('whoami'))).code).toBe('E_UNAUTHORIZED') // rules apply to token identities

    for (const wrong of ['ops-secret-from-en', 'ops-secret-from-env ', 'x'.repeat(5000), 42, { token: 'ingest-secret' }]) {
      const refused = await connect(server.url!, wrong).catch((e: EchoError) => e)
      expect(refused, JSON.stringify(wrong).slice(0, 40)).toBeInstanceOf(EchoError)
      expect((refused as EchoError).code).toBe('E_UNAUTHORIZED')
    }
  })

  it('an authenticate function sees only the peers no token matched', async () => {
    const seen: unknown[] = []
    const server = track(await createServer(jsonConfig({ tokens: [{ token: 'service-secret', identity: 'service' }] }))) as EchoKernel & Rpc & { auth: { authenticate(fn: (c: unknown) => unknown): void; identity(s: unknown): unknown } }
    server.auth.authenticate((credentials) => {
      seen.push(credentials)
      return credentials === 'user-password' ? 'user' : false
    })
    server.rpc.handle('whoami', (_p, ctx) => server.auth.identity(ctx.session))
    await server.start()
    expect(await (await connect(server.url!, 'service-secret')).rpc.request('whoami')).toBe('service')
    expect(await (await connect(server.url!, 'user-password')).rpc.request('whoami')).toBe('user')
    expect((await connect(server.url!, 'nobody').catch((e: EchoError) => e) as EchoError).code).toBe('E_UNAUTHORIZED')
    expect(seen).toEqual(['user-password', 'nobody'])
  })

  it('a token without an identity, or a short one, is an E_CONFIG before anything listens', async () => {
    const noIdentity = await createServer(jsonConfig({ tokens: [{ token: 'a-long-token', identity: null }] })).catch((e: EchoError) => e)
    expect((noIdentity as EchoError).code).toBe('E_CONFIG')
    expect((noIdentity as EchoError).message).toContain("options['auth'].tokens[0].identity is missing")
    const short = await createServer(jsonConfig({ tokens: [{ token: 'short', identity: 'x' }] })).catch((e: EchoError) => e)
    expect((short as EchoError).code).toBe('E_CONFIG')
    expect((short as EchoError).message).toContain('tokens')
  })
})
