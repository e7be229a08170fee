/**
 * Run as its own process (with --expose-gc) by slow-consumer.test.ts: a server with events and an
 * outbound budget. On `{ run }` over IPC it broadcasts events as fast as its healthy client (the
 * session whose hello says `tag: 'healthy'`) takes them — pacing by that session's `writable` /
 * `whenWritable()` — for `durationMs`, measuring its own memory after GC before and after, and
 * sampling RSS and heap during the run. The paused client is everyone else.
 */
import { type CloseInfo, type Session } from '@echostream/kernel'
import { createServer } from './create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'

const budget = Number(process.argv[2])
const gc = (globalThis as { gc?: () => void }).gc!

const server = await createServer({
  plugins: [transportWs, codecMsgpack, events],
  options: { 'transport-ws': { host: '127.0.0.1', port: 0, highWaterMark: 256 * 1024 } },
  outboundBudget: budget,
})
const closes: Array<{ tag: unknown; info: CloseInfo }> = []
server.hooks.disconnect.tap('slow-consumer-test', (session, info) => void closes.push({ tag: session.handshake.tag, info }))
await server.start()

interface Memory {
  rss: number
  heapUsed: number
  arrayBuffers: number
}

function measure(): Memory {
  gc()
  gc()
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, arrayBuffers }
}

async function run(volatile: boolean, durationMs: number, payloadBytes: number) {
  const healthy = server.sessions().find((s: Session) => s.handshake.tag === 'healthy')
  if (!healthy) throw new Error('no healthy session')
  const pad = 'x'.repeat(payloadBytes)
  let n = 0
  const broadcast = () => {
    n++
    const report = server.events.broadcast('tick', { n, pad }, { volatile })
    if (report.failed > 0) throw report.failures[0]!.error
  }
  for (let i = 0; i < 100; i++) broadcast() // warm up encoder and sockets
  await healthy.whenWritable()
  const before = measure()
  const peak = { rss: before.rss, heapUsed: before.heapUsed + before.arrayBuffers }
  const sampler = setInterval(() => {
    const { rss, heapUsed, arrayBuffers } = process.memoryUsage()
    peak.rss = Math.max(peak.rss, rss)
    peak.heapUsed = Math.max(peak.heapUsed, heapUsed + arrayBuffers)
  }, 50)
  const until = Date.now() + durationMs
  while (Date.now() < until) {
    broadcast()
    if (n % 32 === 0) await new Promise((resolve) => setImmediate(resolve))
    if (!healthy.writable) await healthy.whenWritable()
  }
  clearInterval(sampler)
  await healthy.whenWritable()
  const after = measure()
  return { sent: n, before, after, peak, kernel: server.stats(), events: server.events.stats(), closes, open: server.sessions().map((s) => s.handshake.tag ?? 'paused') }
}

process.on('message', (message: { run?: { volatile: boolean; durationMs: number; payloadBytes: number } }) => {
  if (!message.run) return
  const { volatile, durationMs, payloadBytes } = message.run
  run(volatile, durationMs, payloadBytes).then(
    (result) => process.send!({ result }),
    (error: unknown) => process.send!({ error: String((error as Error)?.stack ?? error) }),
  )
})
process.send!({ url: server.url })
process.on('disconnect', () => void server.stop().then(() => process.exit(0)))
