/**
 * `pnpm demo` (in plugins/devtools): a server with the devtools page and a few busy clients, so
 * the page has something to show — calls, a room, a stream that waits for credit, a client whose
 * clock runs 250 ms ahead. pino logs (pretty) on stdout include the page's address with its token.
 *
 *   PORT=5000 DEVTOOLS_PORT=9465 ADMIN_PORT=9464 LOG_LEVEL=info DEVTOOLS_TOKEN=… pnpm demo
 *   (0 for a port: any free one). Ctrl+C (or SIGTERM) stops it.
 */
import { createServer, createClient, EchoError, type Session } from '@echostream/node'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import observability from '@echostream/plugin-observability'
import devtools from './src/index.js'

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]))
const token = process.env.DEVTOOLS_TOKEN || undefined

const server = await createServer({
  plugins: [transportWs, codecMsgpack, rpc, events, streams, clockSync, observability, devtools],
  options: {
    'transport-ws': { host: '127.0.0.1', port: env('PORT', 5000) },
    observability: { level: (process.env.LOG_LEVEL ?? 'info') as 'info', format: 'pretty', port: env('ADMIN_PORT', 9464) },
    devtools: { port: env('DEVTOOLS_PORT', 9465), name: 'devtools-demo', version: '1.0.0', ...(token ? { token } : {}) },
  },
})
server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
server.rpc.handle('chat.join', (room: string, ctx: { session: Session }) => void ctx.session.join(room))
server.rpc.handle('flaky', () => {
  if (Math.random() < 0.3) throw new EchoError('E_FLAKY', 'flaky failed (on purpose): the recent errors list shows it')
  return 'ok'
})
// Reads one chunk a second: the uploader soon waits for stream credit.
server.streams.handle('slow-upload', async (stream) => {
  for await (const _ of stream) await new Promise((r) => setTimeout(r, 1000))
})
await server.start()

const connect = (i: number) => createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc, events, streams, [clockSync, { localOffsetMs: i === 2 ? 250 : 0 }]] })
const clients: Array<Awaited<ReturnType<typeof connect>>> = []
const timers: ReturnType<typeof setInterval>[] = []
for (let i = 0; i < 3; i++) {
  const client = await connect(i)
  await client.start()
  clients.push(client)
  timers.push(setInterval(() => void client.rpc.request('math.add', { a: i, b: 1 }).catch(() => {}), 200 + 300 * i))
}
await clients[0]!.rpc.request('chat.join', 'lobby')
await clients[1]!.rpc.request('chat.join', 'lobby')
timers.push(setInterval(() => void clients[1]!.rpc.request('flaky').catch(() => {}), 1500))
const upload = await clients[2]!.streams.open<Uint8Array>('slow-upload')
void (async () => {
  try {
    for (;;) await upload.write(new Uint8Array(16 * 1024))
  } catch {
    // stopped
  }
})()

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  for (const t of timers) clearInterval(t)
  for (const c of clients) await c.stop().catch(() => {})
  await server.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
