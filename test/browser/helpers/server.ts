/** A real echostream server (every plugin the browser bundles speak) in the test's process. */
import { createKernel, type EchoKernel } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'

export interface ServerOptions {
  'transport-ws'?: Record<string, unknown>
  reconnect?: Record<string, unknown>
  streams?: Record<string, unknown>
}

export async function startServer(options: ServerOptions = {}): Promise<EchoKernel> {
  const server = await createKernel({
    role: 'server',
    plugins: [
      [transportWs, { port: 0, host: '127.0.0.1', ...options['transport-ws'] }],
      codecMsgpack,
      rpc,
      events,
      [reconnect, options.reconnect],
      [streams, options.streams],
      clockSync,
    ],
  })
  await server.start()
  return server
}

/** Page-side globals the tests use (set by the page's module script and by the tests). */
declare global {
  interface Window {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    echostream: any
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    client: any
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    seen: any[]
  }
}
