/**
 * Run as its own process by kernel-lifecycle.test.ts: starts a server and a client assembled from
 * plugin specifiers (as a config names them), round-trips a frame, stops both, and then does
 * nothing more. The process must exit on its own: any socket, server or timer left behind keeps it
 * alive. Prints one line per step; `--stop-client-first` flips the stop order.
 */
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { definePlugin, type Frame } from '@echostream/kernel'
import { createClient, createServer } from './create.js'

const here = dirname(fileURLToPath(import.meta.url))
const wire = ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack']

let answer: ((frame: Frame) => void) | undefined
const echo = definePlugin({
  name: 'echo',
  version: '1.0.0',
  kernel: '^1',
  requires: ['transport', 'codec'],
  wire: 1,
  setup(kernel) {
    kernel.route('echo.ping', { handler: (frame, session) => session.send({ kind: 'echo.pong', id: frame.id, payload: frame.payload }) })
    kernel.route('echo.pong', { handler: (frame) => answer?.(frame) })
  },
})

const server = await createServer({ plugins: [...wire, echo], options: { 'transport-ws': { port: 0, pingIntervalMs: 200, pingTimeoutMs: 200 } } }, { cwd: here })
await server.start()
const client = await createClient({ url: server.url, plugins: [...wire, echo] }, { cwd: here })
await client.start()
const pong = await new Promise<Frame>((resolve) => {
  answer = resolve
  client.session!.send({ kind: 'echo.ping', id: 1, payload: new Uint8Array([1, 2, 3]) })
})
console.log(`round-trip ${Buffer.from(pong.payload as Uint8Array).toString('hex')}`)
if (process.argv.includes('--stop-client-first')) {
  await client.stop()
  await server.stop()
} else {
  await server.stop()
  await client.stop()
}
console.log(`stopped ${server.state} ${client.state}`)
// No process.exit(): exiting is the event loop's job once nothing is left open.
