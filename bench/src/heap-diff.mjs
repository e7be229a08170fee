/**
 * What one idle connection keeps on a server's JS heap, object by object: the memory row's server
 * (the same peer module, mode 'memory'), a heap snapshot with no connection and another with N idle
 * ones (opened by a client child), and the difference grouped by V8 node type and constructor,
 * per connection. The memory row gives the total; this says where it goes.
 *
 *   node --expose-gc src/heap-diff.mjs [--peer echostream] [--connections 2000] [--top 40] [--keep DIR] [--hold-ms 30000]
 *
 * `--hold-ms`: then keeps the 2N connections that long (past a ping round: transport-ws pings every
 * 25 s by default) and compares a last snapshot with the 2N one: what the pings changed.
 *
 * Run it under `nice -n 19` on a shared machine. Snapshots are written to a temporary folder
 * (kept with --keep DIR). Echostream peers load the built dist/: run `tsc -b` first.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import { settleHeap } from './gc-settle.mjs'
import { loadPeer } from './peers/index.mjs'
import { openMany } from './workloads.mjs'

const { values: args } = parseArgs({
  options: {
    peer: { type: 'string', default: 'echostream' },
    connections: { type: 'string', default: '2000' },
    top: { type: 'string', default: '40' },
    keep: { type: 'string' },
    'hold-ms': { type: 'string', default: '0' },
    child: { type: 'string' },
  },
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

if (args.child) {
  // The client child: opens the connections and holds them until told to exit.
  // The client child: opens the connections in two rounds and holds them until told to exit.
  const { port, connections } = JSON.parse(args.child)
  const peer = await loadPeer(args.peer)
  const clients = []
  const round = async () => {
    clients.push(...(await openMany(() => peer.connect(port, { mode: 'memory' }), connections, 100, 120_000)))
    process.send({ type: 'ready', connections: clients.length })
  }
  process.on('message', (msg) => (msg === 'more' ? round() : process.exit(0)))
  await round()
} else {
  await main()
}


async function main() {
  const n = Number(args.connections)
  const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'heap-diff-'))
  mkdirSync(dir, { recursive: true })
  const peer = await loadPeer(args.peer)
  const server = await peer.startServer({ mode: 'memory' })
  const snap = async (count) => {
    await settleHeap()
    const heapUsed = process.memoryUsage().heapUsed
    return { heapUsed, file: writeHeapSnapshot(join(dir, `${args.peer}-${count}.heapsnapshot`)) }
  }
  const s0 = await snap(0)
  const child = fork(new URL(import.meta.url), ['--peer', args.peer, '--child', JSON.stringify({ port: server.port, connections: n })], { stdio: 'inherit' })
  child.once('exit', (code) => code && console.error(`client child exited with ${code}`))
  const opened = async (count) => {
    await new Promise((resolve) => child.once('message', resolve))
    for (let i = 0; i < 250 && server.connections() !== count; i++) await sleep(20)
    if (server.connections() !== count) throw new Error(`the server counts ${server.connections()} connections, not ${count}`)
  }
  await opened(n)
  const s1 = await snap(n)
  child.send('more')
  await opened(2 * n)
  const s2 = await snap(2 * n)
  const holdMs = Number(args['hold-ms'])
  const s3 = holdMs > 0 ? (await sleep(holdMs), await snap(`${2 * n}-held`)) : undefined
  child.removeAllListeners('exit')
  child.send('exit')
  await Promise.race([server.stop(), sleep(3000)])
  console.log(`${args.peer}: heapUsed per connection, 0 → ${n} (as the bench row, less one-off costs spread over fewer): ${((s1.heapUsed - s0.heapUsed) / n).toFixed(0)} B; ${n} → ${2 * n} (marginal): ${((s2.heapUsed - s1.heapUsed) / n).toFixed(0)} B`)
  report(s1.file, s2.file, n)
  if (s3) {
    console.log(`after holding ${2 * n} connections ${holdMs} ms: heapUsed per connection 0 → ${2 * n} ${((s3.heapUsed - s0.heapUsed) / (2 * n)).toFixed(0)} B (before holding: ${((s2.heapUsed - s0.heapUsed) / (2 * n)).toFixed(0)} B)`)
    report(s2.file, s3.file, 2 * n, `held ${holdMs} ms`)
  }
  if (!args.keep) rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}

/** Count and self size per group (node type + constructor/name; strings grouped as one). */
function groups(file) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8'))
  const fields = snapshot.meta.node_fields
  const types = snapshot.meta.node_types[0]
  const width = fields.length
  const TYPE = fields.indexOf('type')
  const NAME = fields.indexOf('name')
  const SIZE = fields.indexOf('self_size')
  const out = new Map()
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + TYPE]]
    const grouped = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'hidden' || type === 'code'
    let name = grouped ? '' : strings[nodes[i + NAME]]
    if (type === 'closure') name = `${name}()`
    if (type === 'array' || type === 'object shape') name = name.replace(/\d+/g, '#')
    const key = `${type} ${name}`.trim()
    const g = out.get(key) ?? { count: 0, size: 0 }
    g.count++
    g.size += nodes[i + SIZE]
    out.set(key, g)
  }
  return out
}

function report(beforeFile, afterFile, n, label = `${n} → ${2 * n}`) {
  const a = groups(beforeFile)
  const b = groups(afterFile)
  const rows = []
  for (const [key, g] of b) {
    const g0 = a.get(key) ?? { count: 0, size: 0 }
    const size = (g.size - g0.size) / n
    const count = (g.count - g0.count) / n
    if (Math.abs(size) >= 0.5 || Math.abs(count) >= 0.05) rows.push({ key, count, size })
  }
  rows.sort((x, y) => y.size - x.size)
  const total = rows.reduce((s, r) => s + r.size, 0)
  console.log(`snapshot ${label}: self sizes per connection ${total.toFixed(0)} B, by group:`)
  console.log('  bytes/conn  objects/conn  group')
  for (const r of rows.slice(0, Number(args.top))) console.log(`  ${r.size.toFixed(1).padStart(10)}  ${r.count.toFixed(2).padStart(12)}  ${r.key}`)
}
