/**
 * One cluster node as its own process (cluster-*.test.ts, the bench). argv[2] is a JSON object:
 * { redisUrl, nodeId, cluster?: options, reconnect?: options }. Talks JSON lines: it prints
 * events ({ type: 'listening' | 'up' | 'ran' | 'gap' | 'presence' | … }) and answers commands
 * read from stdin ({ id, cmd, … } → { type: 'reply', id, result | error }).
 */
import { createInterface } from 'node:readline'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EchoError, type Session } from '@echostream/kernel'
import { createServer } from './create.js'
import type {} from '@echostream/plugin-cluster'
import type {} from '@echostream/plugin-rpc'
import type {} from '@echostream/plugin-events'

const here = dirname(fileURLToPath(import.meta.url))
const config = JSON.parse(process.argv[2] ?? '{}') as { redisUrl: string; nodeId: string; port?: number; cluster?: Record<string, unknown>; reconnect?: Record<string, unknown> }
const out = (line: Record<string, unknown>) => process.stdout.write(JSON.stringify(line) + '\n')

const server = await createServer(
  {
    plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', '@echostream/plugin-rpc', '@echostream/plugin-events', '@echostream/plugin-reconnect', '@echostream/plugin-cluster'],
    options: {
      'transport-ws': { port: config.port ?? 0, host: '127.0.0.1' },
      reconnect: { graceMs: 30_000, ...config.reconnect },
      cluster: { redisUrl: config.redisUrl, nodeId: config.nodeId, heartbeatMs: 200, nodeTtlMs: 1000, ...config.cluster },
    },
  },
  { cwd: here },
)
const node = config.nodeId

server.rpc.handle('join', (room: string, ctx) => {
  ctx.session.join(room)
  return node
})
server.rpc.handle('leave', (room: string, ctx) => {
  ctx.session.leave(room)
  return node
})
server.rpc.handle('whoami', (_: unknown, ctx) => ({ node, sessionId: ctx.session.id }))
server.rpc.handle('op', async (params: { n: number; delayMs?: number }, ctx) => {
  out({ type: 'ran', sid: ctx.session.id, n: params.n })
  if (params.delayMs) await new Promise((resolve) => setTimeout(resolve, params.delayMs))
  return params.n * 2
})
server.rpc.handle('setData', (params: { key: string; value: unknown }, ctx) => {
  ctx.session.data.set(params.key, params.value as never)
  return server.cluster.save(ctx.session).then(() => true)
})
server.rpc.handle('login', (user: string, ctx) => {
  server.cluster.bindUser(ctx.session, user)
  return node
})
server.rpc.handle('getData', (key: string, ctx) => ctx.session.data.get(key) ?? null)
server.events.on('up', (n: number, session: Session) => out({ type: 'up', sid: session.id, n }))
server.cluster.on('gap', (gap) => out({ type: 'gap', ...gap }))
server.cluster.on('presence', (change) => out({ ...change, type: 'presence', change: change.type }))
server.cluster.on('node-down', (data) => out({ type: 'node-down', ...data }))
server.cluster.on('ready', () => out({ type: 'ready' }))
server.cluster.on('unready', () => out({ type: 'unready' }))
server.cluster.on('recovery', ({ session, ...rest }) => out({ type: 'recovery', sid: (session as Session | undefined)?.id, ...rest }))

const tickers = new Map<string, ReturnType<typeof setInterval>>()

type Command = { id: number; cmd: string; [key: string]: unknown }
const commands: Record<string, (c: Command) => unknown> = {
  roomEmit: (c) => server.events.to(c.room as string | string[]).emit(c.name as string, c.data),
  broadcast: (c) => server.events.broadcast(c.name as string, c.data),
  presence: (c) => server.cluster.presence(c.room as string),
  online: () => server.cluster.online(),
  health: () => server.cluster.health(),
  sessionEmit: (c) => server.cluster.session(c.sid as string).emit(c.name as string, c.data).then(() => true),
  sessionRequest: (c) => server.cluster.session(c.sid as string).request(c.method as string, c.params, { timeoutMs: c.timeoutMs as number | undefined }),
  burst: (c) => {
    const session = server.getSession(c.sid as string)
    if (!session) throw new Error(`no session ${c.sid} here`)
    for (let n = 1; n <= (c.count as number); n++) session.emit(c.name as string, n)
    return session.state
  },
  userEmit: (c) => server.cluster.user(c.user as string).emit(c.name as string, c.data),
  sessionState: (c) => server.getSession(c.sid as string)?.state ?? 'none',
  /** Emits { n } to a room every intervalMs, n = 1…count; prints { type: 'tick', n } for each. */
  ticker: (c) => {
    let n = 0
    const timer = setInterval(() => {
      n++
      server.events.to(c.room as string).emit(c.name as string, { n })
      out({ type: 'tick', n })
      if (n >= (c.count as number)) {
        clearInterval(timer)
        out({ type: 'ticker-done', n })
      }
    }, c.intervalMs as number)
    tickers.set(c.room as string, timer)
    return true
  },
  stopTicker: (c) => {
    clearInterval(tickers.get(c.room as string))
    return true
  },
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let command: Command
  try {
    command = JSON.parse(line) as Command
  } catch {
    return
  }
  Promise.resolve()
    .then(() => commands[command.cmd]!(command))
    .then(
      (result) => out({ type: 'reply', id: command.id, result: result ?? null }),
      (error: unknown) => out({ type: 'reply', id: command.id, error: EchoError.from(error).toWire() }),
    )
})

await server.start()
out({ type: 'listening', url: server.url, node })
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)))
