/**
 * echostream with `@echostream/preset-default` (transport-ws, codec-msgpack, rpc, events), plus
 * `@echostream/plugin-streams` for the stream metric, every option at its default. Loaded from the
 * workspace sources: this peer's processes run under tsx with the `development` export condition
 * (see README "How the workspace is loaded").
 */
import { fileURLToPath } from 'node:url'
import { createClient, createServer } from '@echostream/kernel'

/** Specifiers resolve from bench/, whose package.json lists the workspace packages. */
const cwd = fileURLToPath(new URL('../..', import.meta.url))
const PRESET = '@echostream/preset-default'
const STREAMS = '@echostream/plugin-streams'

function config(mode, extra) {
  return { preset: PRESET, plugins: mode === 'stream' ? [STREAMS] : [], ...extra }
}

export async function startServer({ mode }) {
  const server = await createServer(config(mode, { options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }), { cwd })
  server.rpc.handle('add', (params) => params.a + params.b)
  if (mode === 'stream') {
    // Per session: bytes of the stream in progress, and who waits for its end.
    const uploads = new Map()
    const uploadOf = (session) => {
      let u = uploads.get(session)
      if (!u) uploads.set(session, (u = { done: false, bytes: 0, waiters: [] }))
      return u
    }
    server.streams.handle('upload', async (stream, ctx) => {
      const u = uploadOf(ctx.session)
      u.done = false
      let bytes = 0
      for await (const frame of stream) bytes += frame.data.byteLength
      u.bytes = bytes
      u.done = true
      for (const w of u.waiters.splice(0)) w(bytes)
    })
    server.rpc.handle('upload.end', (_params, ctx) => {
      const u = uploadOf(ctx.session)
      if (u.done) {
        u.done = false
        return u.bytes
      }
      return new Promise((resolve) => u.waiters.push((bytes) => ((u.done = false), resolve(bytes))))
    })
  }
  await server.start()
  return {
    port: Number(new URL(server.url).port),
    connections: () => server.sessions().length,
    broadcast(name, data) {
      server.events.broadcast(name, data)
    },
    backlog() {
      let max = 0
      for (const session of server.sessions()) if (session.bufferedAmount > max) max = session.bufferedAmount
      return max
    },
    stop: () => server.stop(),
  }
}

export async function connect(port, { mode } = {}) {
  const client = await createClient(config(mode, { url: `ws://127.0.0.1:${port}` }), { cwd })
  await client.start()
  return {
    call(params) {
      return client.rpc.request('add', params)
    },
    onEvent(name, fn) {
      client.events.on(name, fn)
    },
    async openStream() {
      const w = await client.streams.open('upload')
      return {
        write: (chunk) => w.write(chunk),
        async end() {
          await w.end()
          return client.rpc.request('upload.end')
        },
      }
    },
    close: () => client.stop(),
  }
}
