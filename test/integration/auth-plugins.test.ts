/**
 * @echostream/plugin-auth with the real rpc and events plugins, over real WebSockets on 127.0.0.1:
 * rpc asks the kernel's `authorize` hook for `{ kind: 'rpc', name: method }` before a handler runs,
 * events for `{ kind: 'event', name }` before listeners run and `session.join` for `{ kind: 'room' }`.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCodes, type EchoKernel, type Logger } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import auth from '@echostream/plugin-auth'
import { track, until } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

const TOKENS: Record<string, { id: string; role: string }> = {
  'admin-token': { id: 'ada', role: 'admin' },
  'user-token': { id: 'bob', role: 'user' },
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, info() {}, warn: (m) => void warnings.push(m), error() {} }
}

interface Counts {
  add: number
  stats: number
  drop: number
  joined: string[]
  chat: string[]
  shutdown: number
}

async function startServer(): Promise<{ server: EchoKernel; counts: Counts }> {
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, rpc, events, auth],
      options: {
        'transport-ws': { host: '127.0.0.1', port: 0 },
        auth: {
          authenticate: (token: unknown) => TOKENS[token as string] ?? false,
          rules: { roles: { admin: ['*'], user: ['rpc:math.*', 'rpc:rooms.join', 'rpc:whoami', 'event:chat.*', 'room:lobby'] } },
          authorize: (action: { kind: string; name: string }) => !(action.kind === 'rpc' && action.name === 'admin.drop'),
          throttle: { enabled: false },
        },
      },
    }),
  )
  const counts: Counts = { add: 0, stats: 0, drop: 0, joined: [], chat: [], shutdown: 0 }
  server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => (counts.add++, a + b))
  server.rpc.handle('admin.stats', () => (counts.stats++, { sessions: server.sessions().length }))
  server.rpc.handle('admin.drop', () => void counts.drop++)
  server.rpc.handle('whoami', (_: unknown, ctx) => server.auth.identity(ctx.session))
  // The app asks to join; the events plugin asks `authorize` for the room first.
  server.rpc.handle('rooms.join', (room: string, ctx) => {
    ctx.session.join(room)
    counts.joined.push(room)
    return ctx.session.rooms()
  })
  server.events.on('chat.msg', (text: string) => void counts.chat.push(text))
  server.events.on('system.shutdown', () => void counts.shutdown++)
  await server.start()
  return { server, counts }
}

async function connect(url: string, credentials?: string, logger?: Logger): Promise<EchoKernel> {
  const client = track(
    await createClient({ url, plugins: [transportWs, codecMsgpack, rpc, events, auth], ...(credentials ? { options: { auth: { credentials } } } : {}) }, { logger }),
  )
  await client.start()
  return client
}

describe('auth with the real rpc and events plugins', () => {
  it('refuses bad tokens, another role, a forbidden method, room and event with E_UNAUTHORIZED; handlers never run; other sessions are untouched', async () => {
    const { server, counts } = await startServer()
    const userLog = recordingLogger()
    const user = await connect(server.url!, 'user-token', userLog)
    const admin = await connect(server.url!, 'admin-token')
    const roundTrip = async () => expect(await user.rpc.request('math.add', { a: 2, b: 3 })).toBe(5)
    await roundTrip()
    expect(await user.rpc.request('whoami')).toEqual({ id: 'bob', role: 'user' })

    // Wrong token and no token: the handshake is refused.
    for (const credentials of ['not-a-token', undefined]) {
      const error = await rejection(connect(server.url!, credentials))
      expect(error.code).toBe(ErrorCodes.E_UNAUTHORIZED)
      await roundTrip()
    }

    // A token for another role: user may not call the admin method the admin may call.
    const otherRole = await rejection(user.rpc.request('admin.stats'))
    expect(otherRole.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(otherRole.message).toMatch(/^Role 'user' is not allowed to call rpc 'admin\.stats'/)
    expect(await admin.rpc.request('admin.stats')).toEqual({ sessions: 2 })
    await roundTrip()

    // A method forbidden for everyone.
    const forbidden = await rejection(admin.rpc.request('admin.drop'))
    expect(forbidden.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(forbidden.message).toMatch(/^'ada' is not allowed to call rpc 'admin\.drop'/)
    await roundTrip()

    // A forbidden room: session.join refuses, so the app's join never completes.
    expect(await user.rpc.request('rooms.join', 'lobby')).toEqual(['lobby'])
    const room = await rejection(user.rpc.request('rooms.join', 'admins'))
    expect(room.code).toBe(ErrorCodes.E_UNAUTHORIZED)
    expect(room.message).toMatch(/^Role 'user' is not allowed to join room 'admins'/)
    expect(counts.joined).toEqual(['lobby'])
    expect(server.events.in('admins')).toEqual([])

    // A forbidden event: its listener never runs (events are fire-and-forget; the client logs the refusal).
    user.events.emit('system.shutdown')
    user.events.emit('chat.msg', 'after') // frames arrive in order: once this is handled, the other was decided
    await until(() => counts.chat.length === 1)
    expect(counts.shutdown).toBe(0)
    await until(() => userLog.warnings.some((w) => /E_UNAUTHORIZED: Role 'user' is not allowed to emit event 'system\.shutdown'/.test(w)))

    expect(counts).toEqual({ add: 5, stats: 1, drop: 0, joined: ['lobby'], chat: ['after'], shutdown: 0 })
    expect(user.session!.state).toBe('open')
    expect(admin.session!.state).toBe('open')
    expect(server.sessions()).toHaveLength(2)
    await roundTrip()
  })
})
