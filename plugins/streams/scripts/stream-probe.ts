/**
 * A client→server stream of 64 KiB chunks between two processes (the server is a child process),
 * echostream at default options against raw ws on the same loopback, alternating: MB/s, and CPU
 * time per MiB on each side (`process.cpuUsage()`, far steadier than MB/s on a shared machine),
 * plus the receiver's tuned windows and credit round trip. A development probe; `pnpm bench` is
 * the record.
 *
 *   node --conditions=development --import tsx plugins/streams/scripts/stream-probe.ts [MiB=256] [rounds=3]
 *
 * Both echostream ends load preset-default's plugins (transport-ws, codec-msgpack, rpc, events)
 * plus streams, as the bench's echostream peer does. The raw ws server lives in the same server
 * process (so both share its heap: see bench/README on V8's marking band).
 *
 * STREAMS_OPTIONS='{"maxStreamWindow":…}' overrides the streams options on both sides.
 * PROBE_ROUNDS=1 prints every round: MB/s, CPU per MiB, the server's page faults, GC time by kind
 * (minor / incremental / major, ms and count) and external memory; PROBE_KINDS=1 adds the frames
 * the server sent, by kind. PROBE_WAITS, PROBE_TRACE, PROBE_CREDIT, PROBE_WINDOW, PROBE_ONLY: below.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { createClient, createServer, monotonicMicros, type Frame } from '@echostream/kernel'
import transportWs from '../../transport-ws/src/index.js'
import codecMsgpack from '../../codec-msgpack/src/index.js'
import streams, { type StreamReader } from '../src/index.js'
import rpc from '../../rpc/src/index.js'
import events from '../../events/src/index.js'

const CHUNK = 64 * 1024
const options = JSON.parse(process.env.STREAMS_OPTIONS ?? '{}') as Record<string, number>
const require = createRequire(new URL('../../transport-ws/package.json', import.meta.url))
const { WebSocketServer, WebSocket } = require('ws') as typeof import('ws')

/** CLOCK_MONOTONIC µs, the clock of `--cpu-prof` profiles. */
const hrMicros = () => Number(process.hrtime.bigint() / 1000n)

/** Minor page faults so far: fresh memory touched (a buffer the allocator could not reuse). */
const faults = () => process.resourceUsage().minorPageFault

type Cpu = NodeJS.CpuUsage
const cpuMs = (from: Cpu) => {
  const d = process.cpuUsage(from)
  return (d.user + d.system) / 1000
}

/** Server child: both servers; answers { bytes, cpuMs, stats } when asked after each run. */
async function serve(): Promise<void> {
  let bytes = 0
  let target = Infinity
  let cpu0 = process.cpuUsage()
  let faults0 = faults()
  let stats: unknown
  let reply: (() => void) | undefined
  const counted = () => {
    if (bytes >= target && reply) {
      const r = reply
      reply = undefined
      r()
    }
  }
  // GC time on the server by kind, per round (PerformanceObserver 'gc').
  const gcMs: Record<string, number> = {}
  const gcKinds: Record<number, string> = { [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = gcKinds[(e.detail as { kind: number }).kind] ?? 'other'
      gcMs[kind] = (gcMs[kind] ?? 0) + e.duration
      gcMs[kind + '#'] = (gcMs[kind + '#'] ?? 0) + 1
    }
  }).observe({ entryTypes: ['gc'] })
  const server = await createServer({ plugins: [transportWs, codecMsgpack, rpc, events, streams], options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, streams: options } })
  // PROBE_CREDIT=1: when each stream.credit left (monotonic µs, comparable across processes on this machine).
  const creditsSent: Array<[number, number]> = []
  const outKinds: Record<string, number> = {}
  if (process.env.PROBE_KINDS) {
    server.hooks.outbound.tap('probe-kinds', (frame: Frame | null) => {
      if (frame) outKinds[frame.kind] = (outKinds[frame.kind] ?? 0) + 1
      return frame
    })
  }
  if (process.env.PROBE_CREDIT) {
    server.hooks.outbound.tap('probe', (frame: Frame | null) => {
      if (frame?.kind === 'stream.credit') creditsSent.push([monotonicMicros(), frame.payload as number])
      return frame
    })
  }
  server.streams.handle('bulk', async (stream: StreamReader<Buffer>, ctx) => {
    // PROBE_TRACE=1: the receiver's offsets every 2 ms, summarised when the stream ends.
    const trace: Array<{ t: number; received: number; consumed: number; max: number; window: number }> = []
    const tracer = process.env.PROBE_TRACE
      ? setInterval(() => {
          const r = stream.stats()
          trace.push({ t: performance.now(), received: r.receivedOffset, consumed: r.consumedOffset, max: r.maxOffset, window: r.window })
        }, 2)
      : undefined
    stream.signal.addEventListener('abort', () => clearInterval(tracer))
    const done = () => {
      clearInterval(tracer)
      if (!trace.length) return
      const MiB = 1 << 20
      const starved = trace.filter((x, i) => i > 0 && x.received === trace[i - 1]!.received).length
      const outstanding = trace.map((x) => (x.max - x.received) / MiB)
      console.log(`  receiver: ${trace.length} samples, ${starved} with nothing new received; credit not yet used (max - received) median ${outstanding.sort((a, b) => a - b)[outstanding.length >> 1]!.toFixed(2)} MiB; unread max ${Math.max(...trace.map((x) => (x.received - x.consumed) / MiB)).toFixed(2)} MiB; window ${trace.at(-1)!.window}`)
    }
    for await (const frame of stream) {
      bytes += frame.data.byteLength
      if (bytes >= target) {
        const s = server.streams.stats(ctx.session)
        stats = { window: stream.window, connWindow: s.receive.window, rttMs: s.receive.rttMs }
        done()
        counted()
      }
    }
  })
  await server.start()
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 20 })
  wss.on('connection', (ws) => {
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer) => {
      bytes += data.length
      counted()
    })
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  process.on('message', (msg: { type: string; total?: number }) => {
    if (msg.type === 'start') {
      bytes = 0
      target = msg.total!
      stats = undefined
      cpu0 = process.cpuUsage()
      faults0 = faults()
      creditsSent.length = 0
      for (const k of Object.keys(gcMs)) delete gcMs[k]
      for (const k of Object.keys(outKinds)) delete outKinds[k]
      reply = () => process.send!({ type: 'done', bytes, cpuMs: cpuMs(cpu0), faults: faults() - faults0, stats, creditsSent, gc: Object.fromEntries(Object.entries(gcMs).map(([k, v]) => [k, Math.round(v)])), external: Math.round(process.memoryUsage().external / 1048576), outKinds: { ...outKinds } })
      process.send!({ type: 'ready' })
    } else if (msg.type === 'exit') process.exit(0)
  })
  process.send!({ type: 'ports', echostream: server.url, raw: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` })
}

function next(child: ChildProcess, type: string): Promise<any> {
  return new Promise((resolve) => {
    const on = (msg: { type: string }) => {
      if (msg.type !== type) return
      child.off('message', on)
      resolve(msg)
    }
    child.on('message', on)
  })
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256)
  const rounds = Number(process.argv[3] ?? 3)
  const total = mib * 1024 * 1024
  const pin = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { execArgv: process.execArgv })
  const ports = await next(child, 'ports')
  if (pin) {
    spawnSync('taskset', ['-a', '-p', '-c', '0', String(child.pid)], { stdio: 'ignore' })
    spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  }
  const chunk = Buffer.alloc(CHUNK)
  for (let i = 0; i < CHUNK; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i)

  const client = await createClient({ url: ports.echostream, plugins: [transportWs, codecMsgpack, rpc, events, streams], options: { streams: options } })
  const creditsReceived: Array<[number, number]> = []
  if (process.env.PROBE_CREDIT) {
    client.hooks.inbound.tap('probe', (frame: Frame | null) => {
      if (frame?.kind === 'stream.credit') creditsReceived.push([monotonicMicros(), frame.payload as number])
      return frame
    })
  }
  await client.start()
  const ws = new WebSocket(ports.raw, { perMessageDeflate: false })
  await new Promise((resolve) => ws.once('open', resolve))
  const raw = (ws as unknown as { _socket: NodeJS.EventEmitter })._socket

  const peers: Record<string, (n: number) => Promise<void>> = {
    raw: async (n) => {
      for (let i = 0; i < n; i++) {
        ws.send(chunk, { binary: true })
        if (ws.bufferedAmount > 1 << 20) await new Promise((resolve) => raw.once('drain', resolve))
      }
    },
    echostream: async (n) => {
      const writer = await client.streams.open<Buffer>('bulk')
      // PROBE_WAITS=1: how often and how long a write waited, by what it waited for.
      const waits: Record<string, { count: number; ms: number }> = {}
      for (let i = 0; i < n; i++) {
        const pending = writer.write(chunk)
        if (!process.env.PROBE_WAITS) {
          await pending
          continue
        }
        const why = String(writer.stats().waitingFor)
        const t0 = performance.now()
        await pending
        const w = (waits[why] ??= { count: 0, ms: 0 })
        w.count++
        w.ms += performance.now() - t0
      }
      await writer.end()
      if (process.env.PROBE_WAITS) console.log('  waits:', JSON.stringify(Object.fromEntries(Object.entries(waits).map(([k, v]) => [k, { count: v.count, ms: Math.round(v.ms) }]))))
    },
  }
  if (process.env.PROBE_ONLY) for (const name of Object.keys(peers)) if (name !== process.env.PROBE_ONLY) delete peers[name]
  const results: Record<string, Array<{ mbs: number; clientMsPerMiB: number; serverMsPerMiB: number; clientFaultsPerMiB: number; serverFaultsPerMiB: number; stats?: unknown }>> = { raw: [], echostream: [] }
  let measuredFrom = 0
  for (let r = 0; r < rounds + 1; r++) {
    if (r === 1) measuredFrom = hrMicros()
    for (const [name, send] of Object.entries(peers)) {
      child.send({ type: 'start', total })
      await next(child, 'ready')
      const done = next(child, 'done')
      const cpu0 = process.cpuUsage()
      const faults0 = faults()
      const hr0 = hrMicros()
      const t0 = performance.now()
      await send(total / CHUNK)
      const server = await done
      const ms = performance.now() - t0
      if (process.env.PROBE_CREDIT && name === 'echostream') {
        const sentAt = new Map((server.creditsSent as Array<[number, number]>).map(([t, o]) => [o, t]))
        const delays = creditsReceived.filter(([, o]) => sentAt.has(o)).map(([t, o]) => (t - sentAt.get(o)!) / 1000).sort((a, b) => a - b)
        const q = (f: number) => delays[Math.min(delays.length - 1, Math.floor(delays.length * f))]?.toFixed(2)
        console.log(`  credit frames: ${delays.length}, server→client delay ms p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)}`)
        creditsReceived.length = 0
      }
      const clientMs = cpuMs(cpu0)
      const clientFaults = faults() - faults0
      if (process.env.PROBE_WINDOW && r > 0) console.log(`window ${name} ${hr0} ${hrMicros()}`)
      if (r === 0) continue // warm-up round
      if (process.env.PROBE_ROUNDS) console.log(`  ${name} round ${r}: ${(total / 1e6 / (ms / 1000)).toFixed(0)} MB/s, CPU per MiB client ${(clientMs / mib).toFixed(3)} ms, server ${(server.cpuMs / mib).toFixed(3)} ms, server faults ${server.faults}, gc ${JSON.stringify(server.gc)}, external ${server.external} MiB${process.env.PROBE_KINDS ? `, server sent ${JSON.stringify(server.outKinds)}` : ''}`)
      results[name]!.push({ mbs: total / 1e6 / (ms / 1000), clientMsPerMiB: clientMs / mib, serverMsPerMiB: server.cpuMs / mib, clientFaultsPerMiB: clientFaults / mib, serverFaultsPerMiB: server.faults / mib, stats: server.stats })
    }
  }
  // With --cpu-prof: bench/src/profile-summary.mjs FILE 30 FROM TO keeps only the measured rounds.
  if (process.env.PROBE_WINDOW) console.log(`measured window (CLOCK_MONOTONIC µs): ${measuredFrom} ${hrMicros()}`)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  for (const [name, rs] of Object.entries(results)) {
    if (!rs.length) continue
    console.log(
      `${name.padEnd(10)} ${median(rs.map((x) => x.mbs)).toFixed(0).padStart(5)} MB/s (${rs.map((x) => x.mbs.toFixed(0)).join(', ')}); ` +
        `CPU per MiB: client ${median(rs.map((x) => x.clientMsPerMiB)).toFixed(3)} ms, server ${median(rs.map((x) => x.serverMsPerMiB)).toFixed(3)} ms; ` +
        `page faults per MiB: client ${median(rs.map((x) => x.clientFaultsPerMiB)).toFixed(0)}, server ${median(rs.map((x) => x.serverFaultsPerMiB)).toFixed(0)}` +
        (rs[0]?.stats ? `; ${JSON.stringify(rs.at(-1)!.stats)}` : ''),
    )
  }
  ws.terminate()
  await client.stop()
  child.send({ type: 'exit' })
}

if (process.argv[2] === 'serve') await serve()
else await main()
