/**
 * Login by call (plugin-auth `server.auth.login`): a web form's page connects with no credentials
 * (`required: false`), may call only the login method, and after it the session has the identity
 * its credentials earned — through the same authenticate function, throttle and ban as a handshake.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCodes, type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import auth from '@echostream/plugin-auth'
import { track } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

const PASSWORDS: Record<string, string> = { ada: 'lovelace', bob: 'builder' }

async function startServer(throttle: Record<string, unknown> = { enabled: false }): Promise<EchoKernel> {
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, rpc, auth],
      options: {
        'transport-ws': { host: '127.0.0.1', port: 0 },
        auth: {
          required: false,
          authenticate: (c: unknown) => {
            const { user, password } = (c ?? {}) as { user?: string; password?: string }
            return typeof user === 'string' && PASSWORDS[user] === password ? { id: user } : false
          },
          // anonymous sessions may only log in
          authorize: (action: { kind: string; name: string }, session: Session) => session.data.get('auth') !== undefined || (action.kind === 'rpc' && action.name === 'login'),
          throttle,
        },
      },
    }),
  )
  server.rpc.handle('login', (credentials: unknown, ctx: { session: Session }) => server.auth.login(ctx.session, credentials))
  server.rpc.handle('logout', (_: unknown, ctx: { session: Session }) => server.auth.logout(ctx.session))
  server.rpc.handle('whoami', (_: unknown, ctx: { session: Session }) => server.auth.identity(ctx.session))
  await server.start()
  return server
}

const connect = async (server: EchoKernel) => {
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc] }))
  await client.start()
  return client
}

describe('auth: login by call', () => {
  it('an anonymous session may only log in; after it, its identity is the one authenticate returned', async () => {
    const server = await startServer()
    const client = await connect(server)
    expect((await rejection(client.rpc.request('whoami', null))).code).toBe(ErrorCodes.E_UNAUTHORIZED)
    const wrong = await rejection(client.rpc.request('login', { user: 'ada', password: 'nope' }))
    expect(wrong.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect((wrong.data as { reason?: string }).reason).toBe('refused')
    expect(await client.rpc.request('login', { user: 'ada', password: 'lovelace' })).toEqual({ id: 'ada' })
    expect(await client.rpc.request('whoami', null)).toEqual({ id: 'ada' })
    await client.rpc.request('logout', null)
    expect((await rejection(client.rpc.request('whoami', null))).code).toBe(ErrorCodes.E_UNAUTHORIZED)
  })

  it('failed logins count against the address like failed handshakes, up to a ban', async () => {
    const server = await startServer({ baseDelayMs: 0, maxFailures: 3, banMs: 60_000 })
    const client = await connect(server)
    for (let i = 0; i < 2; i++) expect((await rejection(client.rpc.request('login', { user: 'bob', password: `guess${i}` }))).data).toMatchObject({ reason: 'refused' })
    expect((await rejection(client.rpc.request('login', { user: 'bob', password: 'guess2' }))).data).toMatchObject({ reason: 'banned' })
    // banned: even the right password is refused now, without calling authenticate
    expect((await rejection(client.rpc.request('login', { user: 'bob', password: 'builder' }))).data).toMatchObject({ reason: 'banned' })
    server.auth.resetFailures()
    expect(await client.rpc.request('login', { user: 'bob', password: 'builder' })).toEqual({ id: 'bob' })
  })

  it('a client-side call of login is a clear E_STATE', async () => {
    const server = await startServer()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc, auth] }))
    expect(() => client.auth.logout({} as Session)).toThrow(/server/)
    await expect(client.auth.login({} as Session, {})).rejects.toMatchObject({ code: 'E_STATE' })
  })
})
