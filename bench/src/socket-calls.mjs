/**
 * One peer's server and its clients in ONE process, joined by real WebSockets on 127.0.0.1, for
 * call-instructions.mjs `--socket`, `--batch` and `--fanout`: under callgrind with a deterministic
 * V8, the instructions a call or an event delivery costs over a real socket, both ends together —
 * what the call floor leaves out (ws framing and masking, the transport, socket reads and writes).
 *
 *   call    `count` calls one at a time (the latency workload's path).
 *   batch   `count` calls in batches of 64 issued together, the next batch once all 64 replied
 *           (the calls/s workload's steady state: 64 requests in one write, 64 replies in one).
 *   fanout  `count` events broadcast to 16 clients, each one after the last delivery of the one
 *           before (the fan-out workload's path, one event at a time).
 *
 * One message (or one batch, written in one turn) in flight per socket keeps what a read holds
 * the same in every run, so the count does not depend on timing.
 *
 *   BENCH_SPEC='{"peer":"echostream","workload":"call","count":4000}' node src/socket-calls.mjs   (from bench/)
 */
import { loadPeer } from './peers/index.mjs'

const FANOUT_CLIENTS = 16
const BATCH = 64
const { peer: name, workload = 'call', count } = JSON.parse(process.env.BENCH_SPEC ?? '{"peer":"echostream","count":4000}')
const peer = await loadPeer(name)
const mode = workload === 'fanout' ? 'fanout' : 'rpc'
const server = await peer.startServer({ mode })

if (workload === 'fanout') {
  const clients = []
  let delivered = 0
  let next
  for (let i = 0; i < FANOUT_CLIENTS; i++) {
    const client = await peer.connect(server.port, { mode })
    client.onEvent('tick', () => {
      if (++delivered === FANOUT_CLIENTS) next()
    })
    clients.push(client)
  }
  for (let n = 0; n < count; n++) {
    delivered = 0
    const all = new Promise((resolve) => (next = resolve))
    server.broadcast('tick', { n })
    await all
  }
  for (const client of clients) await client.close()
} else if (workload === 'batch') {
  const client = await peer.connect(server.port, { mode })
  for (let i = 0; i < count; i += BATCH) {
    const replies = []
    for (let j = 0; j < BATCH; j++) replies.push(client.call({ a: i + j, b: 1 }))
    const sums = await Promise.all(replies)
    if (sums[BATCH - 1] !== i + BATCH) throw new Error(`${name}: add(${i + BATCH - 1}, 1) returned ${sums[BATCH - 1]}`)
  }
  await client.close()
} else {
  const client = await peer.connect(server.port, { mode })
  for (let i = 0; i < count; i++) {
    const sum = await client.call({ a: i, b: 1 })
    if (sum !== i + 1) throw new Error(`${name}: add(${i}, 1) returned ${sum}`)
  }
  await client.close()
}
await server.stop()
