/**
 * The fuzz test's server, run as its own process (so a crash or a hang is observable from outside):
 * the default preset + streams + clock-sync + reconnect + devtools (its token FUZZ_DEVTOOLS_TOKEN,
 * no page, an update every 100 ms to devtools sessions), no auth, with a few handlers that echo
 * hostile data back (the paths the hangs went through), and a watchdog that reports to the
 * parent over IPC:
 *   { type: 'listening', url, plugins, protocol, maxPayload }        once started
 *   { type: 'beat', lagMs, rss, heapUsed, sessions }                every 100 ms; lagMs = worst
 *                                                                    event-loop lag since the last beat
 *   { type: 'fatal', kind, error }                                  uncaughtException / unhandledRejection
 *   { type: 'memory', rss, heapUsed, sessions }                     answer to { type: 'gc' } (after two full GCs)
 * It broadcasts `tick { seq }` every 20 ms, which well-behaved clients check for gaps.
 * Run with --expose-gc. Options as JSON in argv[2]: { maxPayload, graceMs, handshakeTimeoutMs }.
 * { type: 'sabotage', what: [...] } makes it misbehave on purpose ('stall', 'reject', 'throw',
 * 'leak', 'hang', 'exit'), so the fuzz test can show that its watchdog catches each of these.
 */
import { PROTOCOL_VERSION } from '@echostream/kernel'
import { createServer } from './create.js'
import preset from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import reconnect from '@echostream/plugin-reconnect'
import devtools from '@echostream/plugin-devtools'
import { FUZZ_DEVTOOLS_TOKEN } from './fuzz-frames.js'

interface ServerOptions {
  maxPayload: number
  graceMs: number
  handshakeTimeoutMs: number
}

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions
const send = (message: Record<string, unknown>) => process.send?.(message)

function text(error: unknown): string {
  try {
    return error instanceof Error ? `${error.stack ?? error.message}` : `non-Error: ${String(error)}`
  } catch {
    return 'an unprintable value'
  }
}

process.on('uncaughtException', (error) => send({ type: 'fatal', kind: 'uncaughtException', error: text(error) }))
process.on('unhandledRejection', (error) => send({ type: 'fatal', kind: 'unhandledRejection', error: text(error) }))

const server = await createServer({
  plugins: [...preset.plugins, streams, clockSync, reconnect, [devtools, { token: FUZZ_DEVTOOLS_TOKEN, http: false, intervalMs: 100 }]],
  options: {
    'transport-ws': { host: '127.0.0.1', port: 0, maxPayload: options.maxPayload },
    reconnect: { graceMs: options.graceMs },
  },
  handshakeTimeoutMs: options.handshakeTimeoutMs,
})

server.rpc.handle('echo', (params: unknown) => params)
server.rpc.handle('add', (params: unknown) => {
  const { a, b } = (params ?? {}) as { a?: unknown; b?: unknown }
  return typeof a === 'number' && typeof b === 'number' ? a + b : null
})
server.rpc.handle('slow', (_params: unknown, ctx) => new Promise((resolve) => {
  const timer = setTimeout(() => resolve('slow'), 200)
  ctx.signal.addEventListener('abort', () => clearTimeout(timer))
}))
// Handlers that fail in odd ways with what the peer sent, or return what the protocol does not
// carry: whatever they do, the caller must get an answer and the process must stay up.
server.rpc.handle('fail', (params: unknown) => {
  throw params
})
server.rpc.handle('reject', async (params: unknown) => {
  throw params
})
server.rpc.handle('odd', (params: unknown) => oddValue(params))
// Streaming calls (rpc wire 2): a generator that streams until cancelled (so rpc.credit / rpc.cancel
// from the peer find it running), one that streams odd values, and handlers that read a streamed
// input (rpc.in / rpc.inend / rpc.incredit), echoing it back or failing on it.
server.rpc.handle('tokens', async function* (params: unknown, ctx) {
  const count = typeof params === 'number' && params >= 0 ? Math.min(params, 10_000) : 1000
  for (let i = 0; i < count && !ctx.signal.aborted; i++) yield `t${i}`
  return { count }
})
server.rpc.handle('odd-stream', async function* (params: unknown) {
  yield 1
  yield oddValue(params)
})
server.rpc.handle('collect', async (input: unknown) => {
  let n = 0
  for await (const _ of input as AsyncIterable<unknown>) n++
  return n
})
server.rpc.handle('mirror', async function* (input: unknown) {
  for await (const item of input as AsyncIterable<unknown>) yield item
})
server.rpc.handle('fail-input', async (input: unknown) => {
  for await (const item of input as AsyncIterable<unknown>) throw item
})

/** A value the codec must refuse (or convert), chosen by the peer. */
function oddValue(which: unknown): unknown {
  const cyclic: unknown[] = [1]
  cyclic.push(cyclic)
  let deep: unknown = 0
  for (let i = 0; i < 3000; i++) deep = [deep]
  const values = [cyclic, deep, 2n ** 70n, Symbol('odd'), () => 1, new Map([[1, 2]]), new Date(0), Object.create(null), { toJSON: () => cyclic }, [new Set([1])]]
  return values[Math.abs(Math.trunc(Number(which))) % values.length || 0]
}

// An event listener that emits the data back (one of the hangs), one that relays to
// everyone else, one that makes the server call the client (so rpc.res/rpc.err from the peer can
// hit a pending request), one that throws what it got and one that emits an odd value back.
server.events.on('echo', (data: unknown, session) => session.emit('echo', data))
server.events.on('fail', (data: unknown) => {
  throw data
})
server.events.on('odd', (data: unknown, session) => session.emit('odd', oddValue(data)))
server.events.on('chat', (data: unknown, session) => void server.events.broadcast('chat', data, { except: session }))
server.events.on('ask', (data: unknown, session) => void session.request('whoami', data, { timeoutMs: 300 }).catch(() => {}))
server.streams.handle('sink', async (reader) => {
  for await (const _ of reader) {
    // read everything
  }
})
server.streams.handle('fail', async (reader) => {
  for await (const frame of reader) throw frame.data
})

await server.start()
const transport = server.wirePlugins()
send({ type: 'listening', url: server.url, plugins: transport, protocol: PROTOCOL_VERSION, maxPayload: options.maxPayload })

let seq = 0
const ticker = setInterval(() => server.events.broadcast('tick', { seq: ++seq }), 20)

// Event-loop lag: a 20 ms interval that should fire every 20 ms.
let last = performance.now()
let worst = 0
const watch = setInterval(() => {
  const now = performance.now()
  worst = Math.max(worst, now - last - 20)
  last = now
}, 20)
const beat = setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage()
  send({ type: 'beat', lagMs: Math.round(worst), rss, heapUsed, sessions: server.sessions().length })
  worst = 0
}, 100)

/** Kept alive on purpose by the 'leak' sabotage. */
const leaked: unknown[] = []

function sabotage(what: string): void {
  if (what === 'stall') {
    setTimeout(() => {
      const end = performance.now() + 1500
      while (performance.now() < end) {
        // a synchronous stall of 1.5 s
      }
    }, 50)
  } else if (what === 'reject') {
    setTimeout(() => void Promise.reject(new Error('sabotage: an unhandled rejection')), 50)
  } else if (what === 'throw') {
    setTimeout(() => {
      throw new Error('sabotage: an uncaught exception')
    }, 50)
  } else if (what === 'leak') {
    // 64 MiB of doubles on the heap, never released.
    for (let i = 0; i < 64; i++) leaked.push(new Array<number>(131_072).fill(0.5))
  } else if (what === 'hang') {
    setTimeout(() => {
      for (;;) {
        // an endless loop
      }
    }, 50)
  } else if (what === 'exit') {
    setTimeout(() => process.exit(3), 50)
  }
}

process.on('message', (message: { type: string; what?: string[] }) => {
  if (message.type === 'sabotage') {
    for (const what of message.what ?? []) sabotage(what)
  } else if (message.type === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    send({ type: 'memory', rss, heapUsed, sessions: server.sessions().length })
  } else if (message.type === 'stop') {
    clearInterval(ticker)
    clearInterval(watch)
    clearInterval(beat)
    void server.stop().finally(() => process.exit(0))
  }
})
