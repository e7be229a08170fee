/**
 * Server child: starts one peer's server on 127.0.0.1, port 0, and reports the bound port to the
 * runner over IPC. Spec in BENCH_SPEC (JSON: peer, mode = 'rpc' | 'stream' | 'memory'). Then obeys
 * the runner: `fanout` (broadcast a bounded burst), `memory` (GC and measure), `cpu` (CPU time so
 * far), `stop` (close and exit normally, so --cpu-prof can write its profile).
 */
import { settleHeap } from './gc-settle.mjs'
import { loadPeer } from './peers/index.mjs'

const spec = JSON.parse(process.env.BENCH_SPEC)
const send = (msg) => new Promise((resolve) => process.send(msg, resolve))
process.on('disconnect', () => process.exit(0)) // the runner is gone
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Broadcasts `events` events of `{ n }` named `tick`: `burst` per event-loop turn, skipping a turn
 * while any connection has more than `highWater` bytes queued. Bounded by count and by `maxMs`.
 */
async function fanout(server, p) {
  // Wait (bounded) until exactly the fan-out clients are connected.
  for (let i = 0; i < 200 && server.connections() !== p.clients; i++) await sleep(10)
  const connections = server.connections()
  return new Promise((resolve) => {
    let sent = 0
    const t0 = performance.now()
    const pump = () => {
      const late = performance.now() - t0 > p.maxMs
      if (sent >= p.events || late) return resolve({ sent, ms: performance.now() - t0, late, connections })
      if (server.backlog() < p.highWater) {
        for (let i = 0; i < p.burst && sent < p.events; i++) server.broadcast('tick', { n: sent++ })
      }
      setImmediate(pump)
    }
    pump()
  })
}

async function settleAndMeasure() {
  await settleHeap()
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, heapTotal, external, arrayBuffers }
}

const peer = await loadPeer(spec.peer)
const server = await peer.startServer({ mode: spec.mode })
process.on('message', async (msg) => {
  try {
    if (msg.type === 'fanout') await send({ type: 'fanout-done', ...(await fanout(server, msg.params)) })
    else if (msg.type === 'cpu') await send({ type: 'cpu', usage: process.cpuUsage() })
    else if (msg.type === 'memory') await send({ type: 'memory', connections: server.connections(), ...(await settleAndMeasure()) })
    else if (msg.type === 'stop') {
      await Promise.race([server.stop().catch(() => {}), sleep(3000)])
      process.exit(0)
    }
  } catch (error) {
    await send({ type: 'error', message: error?.stack ?? String(error) })
  }
})
await send({ type: 'listening', port: server.port })
