/**
 * Client child: loads one peer and runs the workloads the runner asks for, one at a time, against
 * the server child of the same peer. Spec in BENCH_SPEC (JSON: peer, mode). The runner starts it
 * alongside the server (start-ups overlap) and gives the port with each workload. IPC:
 *   client → { type: 'loaded' }
 *   runner → { type: 'run', metric, params, port }   client → { type: 'result', metric, result }
 *   fan-out and memory also send { type: 'ready' } and (memory) wait for { type: 'release' }
 *   runner → { type: 'exit' }: close every connection (bounded) and exit normally, so
 *   --cpu-prof can write its profile.
 */
import { loadPeer } from './peers/index.mjs'
import { clockAccuracy, fanoutReceive, openMany, rpcLatency, rpcThroughput, streamUpload } from './workloads.mjs'

const spec = JSON.parse(process.env.BENCH_SPEC)
const send = (msg) => new Promise((resolve) => process.send(msg, resolve))
const fromRunner = (type) =>
  new Promise((resolve) => {
    const on = (msg) => {
      if (msg?.type !== type) return
      process.off('message', on)
      resolve(msg)
    }
    process.on('message', on)
  })
process.on('disconnect', () => process.exit(0)) // the runner is gone

const peer = await loadPeer(spec.peer)
let port
const connect = () => peer.connect(port, { mode: spec.mode })
const open = []
let main // the one connection of the rpc, latency and stream workloads

async function run(metric, p) {
  switch (metric) {
    case 'rpc':
      return rpcThroughput((main ??= await track(connect())), p, (phase) => process.send({ type: 'mark', phase }))
    case 'latency':
    case 'latency1':
      return rpcLatency((main ??= await track(connect())), p)
    case 'stream':
    case 'stream-tuned':
      return streamUpload((main ??= await track(connect())), p)
    case 'fanout': {
      // Only the fan-out clients may be connected: the server broadcasts to every connection.
      if (main) {
        open.splice(open.indexOf(main), 1)
        await main.close()
        main = undefined
      }
      const clients = await openMany(connect, p.clients, 16, p.maxMs)
      open.push(...clients)
      const result = await fanoutReceive(clients, p, () => send({ type: 'ready' }))
      // Leave the fan-out connections open until exit: closing 16 of them here would load the server.
      return result
    }
    case 'clock': {
      // Fresh connections with their local clocks offset: every sync starts from scratch.
      const clients = await openMany(() => peer.connect(port, { mode: spec.mode, clockOffsetMs: p.offsetMs }), p.clients, p.clients, p.maxMs)
      open.push(...clients)
      return clockAccuracy(clients, p)
    }
    case 'memory': {
      const clients = await openMany(connect, p.connections, p.batch, p.maxMs)
      open.push(...clients)
      await send({ type: 'ready', connections: clients.length })
      await fromRunner('release')
      return { connections: clients.length }
    }
    default:
      throw new Error(`unknown metric ${metric}`)
  }
}

async function track(connecting) {
  const c = await connecting
  open.push(c)
  return c
}

process.on('message', async (msg) => {
  if (msg?.type === 'run') {
    port = msg.port
    try {
      await send({ type: 'result', metric: msg.metric, result: await run(msg.metric, msg.params) })
    } catch (error) {
      await send({ type: 'error', message: error?.stack ?? String(error) })
    }
  } else if (msg?.type === 'exit') {
    await Promise.race([Promise.all(open.map((c) => c.close().catch(() => {}))), new Promise((r) => setTimeout(r, 2000))])
    process.exit(0)
  }
})
await send({ type: 'loaded' })
