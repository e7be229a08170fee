/**
 * echostream with `@echostream/preset-default` (transport-ws, codec-msgpack, rpc, events), plus
 * `@echostream/plugin-streams` for the stream metric and `@echostream/plugin-clock-sync` for the
 * clock metric, every option at its default (but the client's `localOffsetMs`). Loaded from the
 * workspace sources: this peer's processes run under tsx with the `development` export condition
 * (see README "How the workspace is loaded").
 */
import { fileURLToPath } from 'node:url'
import { createClient, createServer } from '@echostream/node'

/** Specifiers resolve from bench/, whose package.json lists the workspace packages. */
const cwd = fileURLToPath(new URL('../..', import.meta.url))
const PRESET = '@echostream/preset-default'
const STREAMS = '@echostream/plugin-streams'
const CLOCK = '@echostream/plugin-clock-sync'
/**
 * `BENCH_OBSERVABILITY=1 pnpm bench …` adds `@echostream/plugin-observability` to the server (metrics
 * on, logs at warn): what counting every frame costs, against a run without it.
 */
const OBSERVABILITY = process.env.BENCH_OBSERVABILITY === '1' ? [['@echostream/plugin-observability', { port: 0, level: 'warn', destination: 'stderr' }]] : []

/**
 * The stream metric's flow-control window, sized for its workload as the socket.io peer's is (16
 * chunks of 64 KiB = 1 MiB in flight): the streams plugin's defaults (64 KiB per stream, 1 MiB per
 * connection, REALTIME.md) fit one chunk, so a writer would wait a round trip for credit after each.
 */
const STREAM_WINDOWS = { streamWindow: 1 << 20, connectionWindow: 4 << 20 }

function config(mode, extra, role) {
  const obs = role === 'server' ? OBSERVABILITY : []
  if (mode === 'stream') return { preset: PRESET, plugins: [[STREAMS, STREAM_WINDOWS], ...obs], ...extra }
  return { preset: PRESET, plugins: mode === 'clock' ? [CLOCK, ...obs] : obs, ...extra }
}

/** This machine's monotonic clock (CLOCK_MONOTONIC on Linux: one counter for every process), µs. */
const monotonicUs = () => Number(process.hrtime.bigint()) / 1000

export async function startServer({ mode }) {
  const server = await createServer(config(mode, { options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }, 'server'), { cwd })
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

export async function connect(port, { mode, clockOffsetMs = 0 } = {}) {
  const extra = { url: `ws://127.0.0.1:${port}`, ...(mode === 'clock' && { options: { 'clock-sync': { localOffsetMs: clockOffsetMs } } }) }
  const client = await createClient(config(mode, extra), { cwd })
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
