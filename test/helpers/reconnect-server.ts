/**
 * Run as its own process by reconnect-process.test.ts: a server with events, rpc and reconnect on
 * the port given in argv[2] (0 = any). Prints `listening <url>` once up, `got <n>` for every
 * `n` event, and answers `slow` RPCs after 60 s (so a kill leaves them unanswered) and `echo` at once.
 */
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from './create.js'

const here = dirname(fileURLToPath(import.meta.url))
const port = Number(process.argv[2] ?? 0)
const server = await createServer(
  {
    plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', '@echostream/plugin-rpc', '@echostream/plugin-events', '@echostream/plugin-reconnect'],
    options: { 'transport-ws': { port } },
  },
  { cwd: here },
)
server.events.on('n', (n: number) => console.log(`got ${n}`))
server.rpc.handle('echo', (params: unknown) => params)
server.rpc.handle('slow', () => new Promise((resolve) => setTimeout(resolve, 60_000).unref()))
await server.start()
console.log(`listening ${server.url}`)
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)))
