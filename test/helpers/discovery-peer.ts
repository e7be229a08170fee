/**
 * A real echostream process for the discovery tests, configured by the `DISCOVERY_PEER` env (JSON).
 * Run: `node --import tsx --conditions=development test/helpers/discovery-peer.ts`.
 *
 * - server: listens, advertises over mDNS, echoes `echo.ping` frames; with `exitAfterOne` it stops
 *   once its first echoing client has left.
 * - client: has NO url; discovers its server, sends one `echo.ping`, waits for the `echo.pong`, stops.
 *
 * Each step is one JSON line on stdout. The process never calls `process.exit` on success: it has
 * to end on its own, which it only does when every socket (mDNS included) is closed.
 */
import { definePlugin, EchoError, type EchoKernel } from '@echostream/kernel'
import { createClient, createServer } from './create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import discovery from '@echostream/plugin-discovery-mdns'

export interface PeerConfig {
  role: 'server' | 'client'
  /** discovery-mdns options (interface, bind, mdnsPort, name/service…). */
  discovery: Record<string, unknown>
  /** transport-ws options (server: host). */
  transport?: Record<string, unknown>
  /** Server: stop after the first client that echoed has disconnected. */
  exitAfterOne?: boolean
  /** Client: what to send in `echo.ping`. */
  payload?: string
}

const config = JSON.parse(process.env.DISCOVERY_PEER ?? '{}') as PeerConfig
const emit = (line: Record<string, unknown>) => process.stdout.write(JSON.stringify(line) + '\n')
const logger = { info: (m: string) => emit({ event: 'log', level: 'info', message: m }), warn: (m: string) => emit({ event: 'log', level: 'warn', message: m }), error: (m: string) => emit({ event: 'log', level: 'error', message: m }) }

let kernel: EchoKernel | undefined
let stopping: Promise<void> | undefined
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await kernel?.stop()
    emit({ event: 'stopped' })
  })()
  return stopping
}
process.once('SIGTERM', () => void shutdown())
process.once('SIGINT', () => void shutdown())

async function server(): Promise<void> {
  let echoed = false
  const echo = definePlugin({
    name: 'echo',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    wire: 1,
    setup(k) {
      k.route('echo.ping', {
        handler(frame, session) {
          echoed = true
          emit({ event: 'echo', session: session.id, payload: frame.payload })
          session.send({ kind: 'echo.pong', payload: frame.payload })
        },
      })
      k.hooks.connect.tapPromise('echo', async (session) => {
        emit({ event: 'session', id: session.id, peer: session.peer })
      })
      k.hooks.disconnect.tap('echo', (session) => {
        emit({ event: 'disconnect', id: session.id })
        if (config.exitAfterOne && echoed) void shutdown()
      })
    },
  })
  kernel = await createServer(
    { plugins: [transportWs, codecMsgpack, echo, [discovery, config.discovery]], options: { 'transport-ws': { port: 0, ...config.transport } } },
    { logger },
  )
  await kernel.start()
  emit({ event: 'listening', url: kernel.url })
  const advertisement = await kernel.discovery.advertised()
  emit({ event: 'advertised', advertisement })
}

async function client(): Promise<void> {
  let pong: (payload: unknown) => void = () => {}
  const ponged = new Promise<unknown>((resolve) => (pong = resolve))
  const echo = definePlugin({
    name: 'echo',
    version: '1.0.0',
    kernel: '^1',
    wire: 1,
    setup(k) {
      k.route('echo.pong', { handler: (frame) => pong(frame.payload) })
    },
  })
  // No `url`: the discovery plugin has to find the server.
  kernel = await createClient({ plugins: [transportWs, codecMsgpack, echo, [discovery, config.discovery]] }, { logger })
  await kernel.start()
  emit({ event: 'connected', url: kernel.url, session: kernel.session?.id })
  kernel.session!.send({ kind: 'echo.ping', payload: config.payload ?? 'ping' })
  emit({ event: 'pong', payload: await ponged })
  await shutdown()
}

try {
  await (config.role === 'server' ? server() : client())
} catch (error) {
  emit({ event: 'error', code: EchoError.is(error) ? error.code : undefined, retryable: EchoError.is(error) ? error.retryable : undefined, message: (error as Error)?.message ?? String(error) })
  process.exitCode = 2
  await shutdown().catch(() => {})
}
