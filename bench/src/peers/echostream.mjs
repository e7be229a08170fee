/**
 * echostream with `@echostream/preset-default` (transport-ws, codec-msgpack, rpc, events), plus
 * `@echostream/plugin-streams` for the stream metrics and `@echostream/plugin-clock-sync` for the
 * clock metric, every option at its default (but the client's `localOffsetMs`, and the stream
 * windows of the "tuned" stream row). Loaded from the BUILT packages (`dist/`, the runner runs
 * `tsc -b` first): the children are plain `node`, as a deployment runs them (see README "How the
 * workspace is loaded"). `makePeer({ transport: 'tcp' })` is the same peer over transport-tcp.
 */
import { fileURLToPath } from 'node:url'
import { createClient, createServer } from '@echostream/node'

/** Specifiers resolve from bench/, whose package.json lists the workspace packages. */
const cwd = fileURLToPath(new URL('../..', import.meta.url))
const PRESET = '@echostream/preset-default'
const STREAMS = '@echostream/plugin-streams'
const CLOCK = '@echostream/plugin-clock-sync'
const TCP = '@echostream/plugin-transport-tcp'
/**
 * `BENCH_OBSERVABILITY=1 pnpm bench …` adds `@echostream/plugin-observability` to the server (metrics
 * on, logs at warn): what counting every frame costs, against a run without it.
 */
const OBSERVABILITY = process.env.BENCH_OBSERVABILITY === '1' ? [['@echostream/plugin-observability', { port: 0, level: 'warn', destination: 'stderr' }]] : []
/**
 * `BENCH_MEMORY_PLUGINS=streams,clock-sync,reconnect` adds those plugins (both sides, defaults)
 * in the memory workload: what each keeps per idle connection (src/heap-diff.mjs). Not in the row.
 */
const MEMORY_PLUGINS = (process.env.BENCH_MEMORY_PLUGINS ?? '').split(',').filter(Boolean).map((name) => `@echostream/plugin-${name}`)

/**
 * The "tuned" stream row's flow-control windows (mode 'stream-tuned'), sized for the workload as
 * the socket.io peer's is (16 chunks of 64 KiB = 1 MiB in flight). The 'stream' row runs the
 * plugin's defaults: what a user who does not know to tune gets.
 */
export const STREAM_WINDOWS = { streamWindow: 1 << 20, connectionWindow: 4 << 20 }

/** This machine's monotonic clock (CLOCK_MONOTONIC on Linux: one counter for every process), µs. */
const monotonicUs = () => Number(process.hrtime.bigint()) / 1000

export function makePeer({ transport = 'ws' } = {}) {
  const tcp = transport === 'tcp'
  const key = tcp ? 'transport-tcp' : 'transport-ws'

  function config(mode, extra = {}, role) {
    const plugins = tcp ? [TCP] : []
    if (role === 'server') plugins.push(...OBSERVABILITY)
    if (mode === 'stream') plugins.push(STREAMS)
    if (mode === 'stream-tuned') plugins.push([STREAMS, STREAM_WINDOWS])
    if (mode === 'clock') plugins.push(CLOCK)
    if (mode === 'memory') plugins.push(...MEMORY_PLUGINS)
    const options = { ...(tcp && { 'transport-ws': false }), ...extra.options }
    return { preset: PRESET, plugins, ...extra, options }
  }

  async function startServer({ mode }) {
    const server = await createServer(config(mode, { options: { [key]: { host: '127.0.0.1', port: 0 } } }, 'server'), { cwd })
    server.rpc.handle('add', (params) => params.a + params.b)
    if (mode === 'stream' || mode === 'stream-tuned') {
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
    if (mode === 'clock') {
      // The measuring reference (never used by clock sync): the server's clock and the machine's
      // monotonic clock read together. The server's clock is that counter plus a constant, so a
      // client process on this machine can compute the true server time at any instant.
      server.rpc.handle('clock.reference', () => {
        const before = monotonicUs()
        const serverUs = server.clock.now()
        const after = monotonicUs()
        return { serverUs, monotonicUs: (before + after) / 2 }
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

  async function connect(port, { mode, clockOffsetMs = 0 } = {}) {
    const url = `${tcp ? 'tcp' : 'ws'}://127.0.0.1:${port}`
    const client = await createClient(config(mode, { url, ...(mode === 'clock' && { options: { 'clock-sync': { localOffsetMs: clockOffsetMs } } }) }), { cwd })
    await client.start()
    return {
      // Clock metric only: the synchronised clock, and the server's reference (see startServer).
      clock: mode === 'clock' && {
        whenSynced: () => client.clock.whenSynced({ timeoutMs: 20_000 }),
        now: () => client.clock.now(),
        reading: () => client.clock.reading(),
        reference: () => client.rpc.request('clock.reference'),
      },
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

  return { startServer, connect }
}

export const { startServer, connect } = makePeer({ transport: 'ws' })
