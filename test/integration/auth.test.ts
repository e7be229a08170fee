/**
 * @echostream/plugin-auth over real WebSockets on 127.0.0.1, port 0.
 *
 * The server loads a tiny app plugin of this file (`app`) instead of rpc/events, so these tests
 * depend only on the kernel: it routes `app.do` frames, asks the kernel's `authorize` hook
 * (`{ kind, name }` from the frame) before running its "app handler", and counts every handler run
 * and every `connect` it sees. auth-plugins.test.ts does the same with the real rpc and events plugins.
 */
import { describe, expect, it } from 'vitest'
import { authorize, definePlugin, EchoError, ErrorCodes, Stage, type EchoKernel, type Logger } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import auth from '@echostream/plugin-auth'
import { onCleanup, sleep, tempDir, track, until } from '../helpers/fixtures.js'
import { rawClient, rejection } from '../helpers/wire.js'

// ---------------------------------------------------------------- the app under test

interface App {
  server: ReturnType<typeof definePlugin>
  /** Every run of the app handler, as `kind:name` (peer actions that got through). */
  handled: string[]
  /** Session ids the app's own `connect` tap saw. */
  connects: string[]
}

function createApp(): App {
  const app: App = { handled: [], connects: [], server: undefined as never }
  app.server = definePlugin({
    name: 'app',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel) {
      kernel.hooks.connect.tapPromise({ name: 'app', stage: Stage.FIRST }, async (session) => {
        app.connects.push(session.id)
      })
      kernel.route('app.do', {
        handler(frame, session) {
          const action = { kind: String(frame.meta?.kind ?? 'rpc'), name: String(frame.name) }
          const refusal = authorize(kernel.hooks, action, session)
          if (refusal) return session.send({ kind: 'app.err', id: frame.id, payload: refusal.toWire() })
          app.handled.push(`${action.kind}:${action.name}`) // the "app handler"
          session.send({ kind: 'app.ok', id: frame.id, payload: frame.payload })
        },
      })
    },
  })
  return app
}

/** The client half of the app: `call(kind, name, payload)` resolves with the echo or rejects with the refusal. */
function createAppClient() {
  let nextId = 1
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: EchoError): void }>()
  const settle = (ok: boolean) => (frame: { id?: number; payload?: unknown }) => {
    const waiter = waiting.get(frame.id!)
    waiting.delete(frame.id!)
    if (ok) waiter?.resolve(frame.payload)
    else waiter?.reject(EchoError.fromWire(frame.payload))
  }
  const plugin = definePlugin({
    name: 'app',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel) {
      kernel.route('app.ok', { handler: settle(true) })
      kernel.route('app.err', { handler: settle(false) })
    },
  })
  const call = (client: EchoKernel, kind: string, name: string, payload: unknown = name) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++
      waiting.set(id, { resolve, reject })
      client.session!.send({ kind: 'app.do', id, name, payload, meta: { kind } })
    })
  return { plugin, call }
}

// ---------------------------------------------------------------- fixtures

const TOKENS: Record<string, { id: string; role: string }> = {
  'admin-token': { id: 'ada', role: 'admin' },
  'user-token': { id: 'bob', role: 'user' },
}

const RULES = { roles: { admin: ['*'], user: ['rpc:math.*', 'event:chat.*', 'room:lobby'] } }

function recordingLogger(): Logger & { errors: string[]; warnings: string[] } {
  const errors: string[] = []
  const warnings: string[] = []
  return { errors, warnings, info() {}, warn: (m) => void warnings.push(m), error: (m) => void errors.push(m) }
}

interface Harness {
  server: EchoKernel
  app: App
  /** authenticate calls, as the credentials it got. */
  authenticated: unknown[]
  logger: ReturnType<typeof recordingLogger>
}

async function startServer(authOptions: Record<string, unknown> = {}, extra: { root?: string } = {}): Promise<Harness> {
  const app = createApp()
  const authenticated: unknown[] = []
  const logger = recordingLogger()
  const options: Record<string, unknown> = {
    authenticate: (token: unknown) => {
      authenticated.push(token)
      return TOKENS[token as string] ?? false
    },
    rules: RULES,
    // Disabled for everyone, admins included: shows an authorize function next to the rules.
    authorize: (action: { kind: string; name: string }) => !(action.kind === 'rpc' && action.name === 'admin.drop'),
    throttle: { enabled: false },
    ...authOptions,
  }
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key]
  const server = track(
    await createServer(
      { plugins: [transportWs, codecMsgpack, auth, app.server], options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, auth: options }, ...extra },
      { logger },
    ),
  )
  await server.start()
  return { server, app, authenticated, logger }
}

const appClient = createAppClient()

function newClient(url: string, credentials?: unknown, withAuth = true): Promise<EchoKernel> {
  return createClient({
    url,
    plugins: withAuth ? [transportWs, codecMsgpack, auth, appClient.plugin] : [transportWs, codecMsgpack, appClient.plugin],
    ...(withAuth && credentials !== undefined ? { options: { auth: { credentials } } } : {}),
  }).then(track)
}

async function connect(url: string, credentials?: unknown): Promise<EchoKernel> {
  const client = await newClient(url, credentials)
  await client.start()
  return client
}

/** A connected client keeps working: same session, and a call round-trips. */
async function stillWorks(h: Harness, client: EchoKernel, id: string): Promise<void> {
  expect(client.session!.state).toBe('open')
  expect(client.session!.id).toBe(id)
  expect(h.server.sessions().map((s) => s.id)).toContain(id)
  const echo = `ping-${Math.random()}`
  expect(await appClient.call(client, 'rpc', 'math.echo', echo)).toBe(echo)
}

// ---------------------------------------------------------------- tests

describe('auth: refusals (Must show 3)', () => {
  it('refuses a wrong token, no token and a client without the plugin with E_UNAUTHORIZED; no app code runs; a good client is untouched', async () => {
    const h = await startServer()
    const good = await connect(h.server.url!, 'user-token')
    const goodId = good.session!.id
    await stillWorks(h, good, goodId)
    const handledBefore = h.app.handled.length

    const wrong = await rejection((await newClient(h.server.url!, 'not-a-token')).start())
    expect(wrong.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(wrong.message).toMatch(/Credentials refused.*Check the token/)
    expect(wrong.data).toEqual({ reason: 'refused' })
    await stillWorks(h, good, goodId)

    const none = await rejection((await newClient(h.server.url!)).start())
    expect(none.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(none.message).toMatch(/No credentials in the handshake.*options\.auth\.credentials.*setCredentials/)
    expect(none.data).toEqual({ reason: 'missing' })
    await stillWorks(h, good, goodId)

    const noPlugin = await rejection((await newClient(h.server.url!, undefined, false)).start())
    expect(noPlugin.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(noPlugin.message).toMatch(/load @echostream\/plugin-auth on the client/)
    await stillWorks(h, good, goodId)

    // authenticate ran for the two that sent credentials; the app saw only the good client.
    expect(h.authenticated).toEqual(['user-token', 'not-a-token'])
    expect(h.app.connects).toEqual([goodId])
    expect(h.app.handled.length - handledBefore).toBe(3) // the three stillWorks calls, nothing else
    expect(h.server.sessions().map((s) => s.id)).toEqual([goodId])
  })

  it('refuses a token for another role, a forbidden method, room and event with E_UNAUTHORIZED; the handler never runs; the session and others stay usable', async () => {
    const h = await startServer()
    const admin = await connect(h.server.url!, 'admin-token')
    const user = await connect(h.server.url!, 'user-token')
    const adminId = admin.session!.id
    const userId = user.session!.id

    // Allowed by the user's role.
    expect(await appClient.call(user, 'rpc', 'math.add', 1)).toBe(1)
    expect(await appClient.call(user, 'room', 'lobby')).toBe('lobby')
    expect(await appClient.call(user, 'event', 'chat.msg')).toBe('chat.msg')
    expect(h.app.handled).toEqual(['rpc:math.add', 'room:lobby', 'event:chat.msg'])

    // A valid token, but for the user role: admin-only actions are refused.
    const otherRole = await rejection(appClient.call(user, 'rpc', 'admin.stats'))
    expect(otherRole.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(otherRole.message).toBe("Role 'user' is not allowed to call rpc 'admin.stats': use an account whose role allows it, or have the server's options.auth.rules.roles.user include 'rpc:admin.stats'.")
    expect(otherRole.data).toEqual({ reason: 'forbidden' })
    expect(await appClient.call(admin, 'rpc', 'admin.stats')).toBe('admin.stats') // the admin token may

    // A method the authorize function forbids for everyone, admins included (the user's role refuses it first).
    const forbidden = await rejection(appClient.call(admin, 'rpc', 'admin.drop'))
    expect(forbidden.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(forbidden.message).toBe("'ada' is not allowed to call rpc 'admin.drop': the server's authorize check refused it. Use an account that has access.")
    const forbiddenForUser = await rejection(appClient.call(user, 'rpc', 'admin.drop'))
    expect(forbiddenForUser.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(forbiddenForUser.message).toMatch(/^Role 'user' is not allowed to call rpc 'admin\.drop'/)

    // A forbidden room and event.
    const room = await rejection(appClient.call(user, 'room', 'admins'))
    expect(room.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(room.message).toMatch(/^Role 'user' is not allowed to join room 'admins'/)
    const event = await rejection(appClient.call(user, 'event', 'system.shutdown'))
    expect(event.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(event.message).toMatch(/^Role 'user' is not allowed to emit event 'system\.shutdown'/)

    // No refused action reached the handler; both sessions are still open and working.
    expect(h.app.handled).toEqual(['rpc:math.add', 'room:lobby', 'event:chat.msg', 'rpc:admin.stats'])
    await stillWorks(h, user, userId)
    await stillWorks(h, admin, adminId)
    expect(h.server.sessions()).toHaveLength(2)
  })

  it('keeps the identity in session.data and server.auth.identity(session)', async () => {
    const h = await startServer()
    const client = await connect(h.server.url!, 'admin-token')
    const session = h.server.getSession(client.session!.id)!
    expect(h.server.auth.identity(session)).toEqual({ id: 'ada', role: 'admin' })
    expect(session.data.get('auth')).toEqual({ id: 'ada', role: 'admin' })
  })

  it('on the wire a refused peer gets one error frame and close code 4003, nothing else', async () => {
    const h = await startServer()
    const raw = await rawClient(h.server.url!)
    raw.send(['hello', null, null, { protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: { auth: 1 }, auth: 'not-a-token' }])
    const closed = await raw.closed
    expect(closed.code).toBe(4003)
    expect(closed.reason).toMatch(/^E_UNAUTHORIZED: Credentials refused/)
    expect(raw.messages).toEqual([['error', null, null, { code: 'E_UNAUTHORIZED', message: expect.stringMatching(/Credentials refused/), data: { reason: 'refused' } }]])
    expect(h.app.connects).toEqual([])
  })

  it('a frame pipelined right after a bad hello never reaches a handler', async () => {
    const h = await startServer({ authenticate: async (token: unknown) => (await sleep(20), TOKENS[token as string] ?? false) })
    const raw = await rawClient(h.server.url!)
    raw.send(['hello', null, null, { protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: { auth: 1 }, auth: 'not-a-token' }])
    raw.send(['app.do', 1, 'math.add', 1, { kind: 'rpc' }]) // sent before any answer
    const closed = await raw.closed
    // The kernel refuses the early frame (4000) or auth refuses first (4003): either way, no welcome and no handler.
    expect([4000, 4003]).toContain(closed.code)
    expect(raw.messages.every((m) => Array.isArray(m) && m[0] === 'error')).toBe(true)
    expect(h.app.handled).toEqual([])
    expect(h.app.connects).toEqual([])
  })

  it('admits a peer without credentials when required is false, and rules still refuse its actions', async () => {
    const h = await startServer({ required: false })
    const anonymous = await connect(h.server.url!)
    expect(h.server.auth.identity(h.server.getSession(anonymous.session!.id)!)).toBeUndefined()
    const refused = await rejection(appClient.call(anonymous, 'rpc', 'math.add'))
    expect(refused.message).toMatch(/^A session with no role is not allowed to call rpc 'math\.add': authenticate with an identity whose 'role' names one of: admin, user/)
    // Credentials that are sent are still checked.
    expect((await rejection((await newClient(h.server.url!, 'not-a-token')).start())).code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(h.app.handled).toEqual([])
  })

  it('refuses with a generic message, not counted, when authenticate throws or hangs; the server logs why', async () => {
    const h = await startServer({
      authenticate: (token: unknown) => {
        if (token === 'boom') throw new Error('database is down (secret detail)')
        if (token === 'hang') return new Promise(() => {})
        if (token === 'coded') throw new EchoError(ErrorCodes.E_UNAUTHORIZED, 'Token expired: log in again.')
        return TOKENS[token as string] ?? false
      },
      authenticateTimeoutMs: 100,
    })
    const boom = await rejection((await newClient(h.server.url!, 'boom')).start())
    expect(boom.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(boom.message).toBe('The server failed while checking the credentials: try again later.')
    expect(boom.data).toEqual({ reason: 'error' })
    expect(h.logger.errors.join('\n')).toMatch(/database is down/)

    const hang = await rejection((await newClient(h.server.url!, 'hang')).start())
    expect(hang.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(hang.data).toEqual({ reason: 'timeout' })

    const coded = await rejection((await newClient(h.server.url!, 'coded')).start())
    expect(coded.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(coded.message).toBe('Token expired: log in again.')
    expect(h.app.connects).toEqual([])
  })
})

describe('auth: where authenticate and credentials come from', () => {
  it('takes authenticate and authorize from a module named in options', async () => {
    const dir = tempDir({
      'auth.mjs': [
        "export function authenticate(token) { return token === 'mod-token' ? { id: 'mo', role: 'user' } : false }",
        "export function authorize(action) { return action.name !== 'math.secret' }",
      ].join('\n'),
    })
    const h = await startServer({ authenticate: undefined, authorize: undefined, module: './auth.mjs' }, { root: dir })
    expect((await rejection((await newClient(h.server.url!, 'user-token')).start())).code).toBe(ErrorCodes.E_UNAUTHORIZED)
    const client = await connect(h.server.url!, 'mod-token')
    expect(await appClient.call(client, 'rpc', 'math.add', 2)).toBe(2)
    expect((await rejection(appClient.call(client, 'rpc', 'math.secret'))).message).toMatch(/^'mo' is not allowed to call rpc 'math\.secret'/)
  })

  it('takes authenticate and authorize from code, and credentials from setCredentials or ${ENV} in config', async () => {
    const h = await startServer({ authenticate: undefined, authorize: undefined, rules: undefined }, {}).catch((e: EchoError) => e)
    expect((h as EchoError).code).toBe(ErrorCodes.E_CONFIG)
    expect((h as EchoError).message).toMatch(/no authenticate function.*server\.auth\.authenticate\(fn\) before start\(\)/)

    const app = createApp()
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, auth, app.server] }))
    server.auth.authenticate((token) => (token === 'code-token' ? { id: 'cody' } : false))
    const remove = server.auth.authorize((action) => action.name !== 'math.div')
    await server.start()

    const client = await newClient(server.url!)
    client.auth.setCredentials(() => 'code-token')
    await client.start()
    expect((await rejection(appClient.call(client, 'rpc', 'math.div'))).code).toBe(ErrorCodes.E_UNAUTHORIZED)
    remove()
    expect(await appClient.call(client, 'rpc', 'math.div', 3)).toBe(3)

    process.env.ECHOSTREAM_AUTH_TEST_TOKEN = 'code-token'
    onCleanup(() => delete process.env.ECHOSTREAM_AUTH_TEST_TOKEN)
    const fromEnv = await connect(server.url!, '${ECHOSTREAM_AUTH_TEST_TOKEN}')
    expect(server.auth.identity(server.getSession(fromEnv.session!.id)!)).toEqual({ id: 'cody' })
    expect(() => client.auth.identity(client.session!)).toThrow(/works on a server only/)
  })
})

describe('auth: repeated failures from one address', () => {
  const throttle = { baseDelayMs: 100, maxDelayMs: 300, maxFailures: 4, windowMs: 60_000, banMs: 1_500 }

  async function attempt(url: string, token: string): Promise<{ error: EchoError; ms: number }> {
    const client = await newClient(url, token)
    const started = performance.now()
    const error = await rejection(client.start())
    return { error, ms: performance.now() - started }
  }

  it('are refused more and more slowly, then banned without calling authenticate; existing sessions are untouched; success after the ban expires', async () => {
    const h = await startServer({ throttle: { enabled: true, ...throttle } })
    const good = await connect(h.server.url!, 'user-token') // same address (127.0.0.1) as the attacker
    const goodId = good.session!.id

    // Each refusal is held at least baseDelayMs · 2^(n−1), capped: 100, 200, 300 ms (lower bounds only).
    const delays = [100, 200, 300]
    for (const [i, delay] of delays.entries()) {
      const { error, ms } = await attempt(h.server.url!, `wrong-${i}`)
      expect(error.code).toBe(ErrorCodes.E_UNAUTHORIZED)
      expect(error.data).toEqual({ reason: 'refused' })
      expect(ms).toBeGreaterThanOrEqual(delay - 5)
    }
    expect(h.authenticated).toHaveLength(4) // good + 3 wrong

    // The 4th failure bans the address.
    const banning = await attempt(h.server.url!, 'wrong-3')
    expect(banning.error.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(banning.error.data).toEqual({ reason: 'banned', retryAfterMs: 1500 })
    expect(banning.error.message).toMatch(/Credentials refused.*failure 4 in a row from 127\.0\.0\.1: it is now refused for 2 s/)

    // While banned even the right token is refused, and authenticate is not called.
    const banned = await attempt(h.server.url!, 'user-token')
    expect(banned.error.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(banned.error.message).toMatch(/^Too many failed authentications from 127\.0\.0\.1: refused for another \d+ (ms|s) without checking credentials/)
    expect((banned.error.data as { reason: string; retryAfterMs: number }).reason).toBe('banned')
    expect((banned.error.data as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(1500)
    expect(h.authenticated).toHaveLength(5)
    expect(h.logger.warnings.join('\n')).toMatch(/127\.0\.0\.1 banned for 1500 ms after 4 failed/)

    // The session that was already open is not affected by its address's ban.
    await stillWorks(h, good, goodId)
    expect(h.app.connects).toEqual([goodId])

    // After the ban: authenticate runs again, the right token gets in, and a wrong one starts over at the first delay.
    await sleep((banned.error.data as { retryAfterMs: number }).retryAfterMs + 50)
    const after = await connect(h.server.url!, 'user-token')
    expect(after.session!.state).toBe('open')
    expect(h.authenticated).toHaveLength(6)
    const fresh = await attempt(h.server.url!, 'wrong-again')
    expect(fresh.error.data).toEqual({ reason: 'refused' })
    await stillWorks(h, good, goodId)
  })

  it('resetFailures lifts a ban at once', async () => {
    const h = await startServer({ throttle: { enabled: true, ...throttle, baseDelayMs: 0, maxFailures: 2, banMs: 60_000 } })
    await attempt(h.server.url!, 'wrong')
    expect((await attempt(h.server.url!, 'wrong')).error.data).toEqual({ reason: 'banned', retryAfterMs: 60_000 })
    expect((await attempt(h.server.url!, 'user-token')).error.data).toMatchObject({ reason: 'banned' })
    h.server.auth.resetFailures('127.0.0.1')
    const client = await connect(h.server.url!, 'user-token')
    await until(() => h.server.sessions().length === 1)
    expect(client.session!.state).toBe('open')
  })
})
