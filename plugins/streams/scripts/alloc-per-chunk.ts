/**
 * Allocations per stream chunk, both ends in one process, against raw ws (+ msgpackr) on the same
 * loopback: JS heap bytes and ArrayBuffer bytes allocated per 64 KiB chunk, read as
 * `process.memoryUsage()` deltas over rounds of N chunks with no garbage collection inside a round
 * (rounds with a GC are discarded; a large young generation makes them rare). Also counts GCs per
 * 1,000 chunks in a bulk run at the default collector settings, which is what the bench feels.
 *
 *   node --expose-gc --max-semi-space-size=64 --conditions=development --import tsx \
 *     plugins/streams/scripts/alloc-per-chunk.ts [chunks-per-round=100] [rounds=9]
 *
 * Not a test (allocation counts depend on V8 and Node versions): a measurement to quote.
 */
import { createRequire } from 'node:module'
import { PerformanceObserver } from 'node:perf_hooks'
import { createClient, createServer, type EchoKernel } from '@echostream/kernel'
import transportWs from '../../transport-ws/src/index.js'
import codecMsgpack from '../../codec-msgpack/src/index.js'
import streams, { type StreamReader } from '../src/index.js'

const CHUNK = 64 * 1024
const perRound = Number(process.argv[2] ?? 100)
const rounds = Number(process.argv[3] ?? 9)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

let gcs = 0
new PerformanceObserver((list) => void (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] })

const chunk = Buffer.alloc(CHUNK)
for (let i = 0; i < CHUNK; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i)

interface Pipe {
  /** Writes `n` chunks with the peer's own backpressure; resolves once the receiver counted them. */
  send(n: number): Promise<void>
  close(): Promise<void>
}

async function echostreamPipe(): Promise<Pipe> {
  let received = 0
  let target = 0
  let done: (() => void) | undefined
  const server = await createServer({ plugins: [transportWs, codecMsgpack, streams], options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } })
  server.streams.handle('bulk', async (stream: StreamReader<Buffer>) => {
    for await (const frame of stream) {
      received += frame.data.byteLength
      if (received >= target && done) {
        const d = done
        done = undefined
        d()
      }
    }
  })
  await server.start()
  const client: EchoKernel = await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, streams] })
  await client.start()
  const writer = await client.streams.open<Buffer>('bulk')
  return {
    async send(n) {
      target = received + n * CHUNK
      const arrived = new Promise<void>((resolve) => (done = resolve))
      for (let i = 0; i < n; i++) await writer.write(chunk)
      await arrived
    },
    async close() {
      const stats = server.streams.stats(server.sessions()[0])
      console.log(`  echostream windows at the end: connection ${stats.receive.window}, rtt ${(stats.receive.rttMs ?? 0).toFixed(3)} ms`)
      await writer.end()
      await client.stop()
      await server.stop()
    },
  }
}

async function rawPipe(): Promise<Pipe> {
  const require = createRequire(new URL('../../transport-ws/package.json', import.meta.url))
  const { WebSocketServer, WebSocket } = require('ws') as typeof import('ws')
  let received = 0
  let target = 0
  let done: (() => void) | undefined
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 20 })
  wss.on('connection', (socket) => {
    socket.binaryType = 'nodebuffer'
    socket.on('message', (data: Buffer) => {
      received += data.length
      if (received >= target && done) {
        const d = done
        done = undefined
        d()
      }
    })
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, { perMessageDeflate: false })
  await new Promise((resolve) => ws.once('open', resolve))
  const raw = (ws as unknown as { _socket: NodeJS.EventEmitter })._socket
  return {
    async send(n) {
      target = received + n * CHUNK
      const arrived = new Promise<void>((resolve) => (done = resolve))
      for (let i = 0; i < n; i++) {
        ws.send(chunk, { binary: true })
        if (ws.bufferedAmount > 1 << 20) await new Promise((resolve) => raw.once('drain', resolve))
      }
      await arrived
    },
    async close() {
      ws.terminate()
      await new Promise((resolve) => wss.close(resolve))
    },
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN
}

async function measure(name: string, make: () => Promise<Pipe>): Promise<void> {
  const pipe = await make()
  await pipe.send(512) // warm-up: 32 MiB, windows tuned, code optimised
  const heap: number[] = []
  const buffers: number[] = []
  let discarded = 0
  for (let r = 0; r < rounds; r++) {
    gc!()
    gc!()
    await new Promise((resolve) => setTimeout(resolve, 20)) // the observer reports the forced GCs
    const gcsBefore = gcs
    const before = process.memoryUsage()
    await pipe.send(perRound)
    const after = process.memoryUsage()
    await new Promise((resolve) => setTimeout(resolve, 20)) // let the observer report
    if (gcs !== gcsBefore) {
      discarded++
      continue
    }
    heap.push((after.heapUsed - before.heapUsed) / perRound)
    buffers.push((after.arrayBuffers - before.arrayBuffers) / perRound)
  }
  // GCs in a bulk run (what the throughput feels): 2,000 chunks, collector left alone.
  const gcsBefore = gcs
  const t0 = performance.now()
  await pipe.send(2000)
  const ms = performance.now() - t0
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setTimeout(resolve, 20))
  const bulkGcs = gcs - gcsBefore
  await pipe.close()
  console.log(
    `${name}: JS heap ${median(heap).toFixed(0)} B/chunk, ArrayBuffers ${(median(buffers) / 1024).toFixed(1)} KiB/chunk ` +
      `(median of ${heap.length} rounds of ${perRound}; ${discarded} discarded for a GC); ` +
      `bulk: ${((bulkGcs / 2000) * 1000).toFixed(1)} GCs per 1,000 chunks, ${((2000 * CHUNK) / 1e6 / (ms / 1000)).toFixed(0)} MB/s (one process, both ends)`,
  )
}

/**
 * ALLOC_SITES=1: where the JS heap bytes come from, by allocating function (V8's sampling heap
 * profiler, counting objects already collected too), over a bulk run of 2,000 chunks.
 */
async function sites(name: string, make: () => Promise<Pipe>): Promise<void> {
  const { Session } = await import('node:inspector/promises')
  const pipe = await make()
  await pipe.send(512)
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
  await pipe.send(2000)
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: Node } }
  interface Node {
    callFrame: { functionName: string; url: string; lineNumber: number }
    selfSize: number
    children: Node[]
  }
  const bySite = new Map<string, number>()
  const walk = (node: Node) => {
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/\.pnpm\/[^/]+\/node_modules\/|plugins\/|kernel\/)/, '')}:${lineNumber + 1}`
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  const total = [...bySite.values()].reduce((a, b) => a + b, 0)
  console.log(`${name}: ~${(total / 2000).toFixed(0)} sampled B/chunk (JS heap, incl. Buffer headers); top sites:`)
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(bytes / 2000).toFixed(0).padStart(6)} B/chunk  ${site}`)
  await pipe.close()
}

if (process.env.ALLOC_SITES) {
  await sites('raw ws', rawPipe)
  await sites('echostream', echostreamPipe)
} else {
  await measure('raw ws', rawPipe)
  await measure('echostream', echostreamPipe)
}
