#!/usr/bin/env node
/**
 * Cross-node fan-out: `pnpm --filter @echostream/bench bench:cluster [--quick] [--reps N]`.
 * One redis-server (started here, persistence off), three server nodes as processes, 2 × perNode
 * clients in one more process connected to nodes B and C, all in room 'bench'. Node A emits; the
 * clients receive. Per peer (echostream + cluster; echostream + cluster + reconnect, which also logs
 * every delivered frame for resume on any node; socket.io + @socket.io/redis-adapter), on the same
 * redis-server, peers interleaved in every repetition:
 *   events/s  — a burst of `burst` events emitted as fast as node A can, until every client has
 *               every event: events ÷ seconds (each event reaches 2 × perNode clients);
 *   p50/p99   — `perSecond` events/s for `pacedMs`: emit on A → arrival at a client on B or C (µs).
 * Prints a markdown table of medians and the ratio to socket.io; writes the raw runs to
 * bench/results/cluster-<timestamp>.json. Run it as `flock /tmp/echostream-bench.lock pnpm …`.
 */
import { fork, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, reps: { type: 'string' }, peers: { type: 'string' } }, strict: true })
// The paced rate stays below every peer's capacity here, so latency is per event, not queueing.
const P = args.quick ? { reps: 1, perNode: 25, burst: 2000, perSecond: 200, pacedMs: 2000 } : { reps: 3, perNode: 50, burst: 3000, perSecond: 200, pacedMs: 3000 }
const reps = args.reps ? Number(args.reps) : P.reps
const PEERS = ['echostream', 'echostream-resume', 'socketio']
const peers = args.peers ? args.peers.split(',') : PEERS
const LABEL = { echostream: 'echostream + cluster', 'echostream-resume': 'echostream + cluster + reconnect (resume on any node)', socketio: 'socket.io + redis-adapter' }
const log = (line) => process.stderr.write(`${line}\n`)

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startRedis() {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.stdout.resume()
        resolve()
      }
    })
  })
  return { port, url: `redis://127.0.0.1:${port}`, child, flush: () => new Promise((resolve) => spawn('redis-cli', ['-p', String(port), 'FLUSHALL']).on('exit', resolve)) }
}

function start(script, spec) {
  const child = fork(join(here, 'cluster', script), [], {
    execArgv: ['--conditions=development', '--import', 'tsx'],
    env: { ...process.env, BENCH_SPEC: JSON.stringify(spec), ECHOSTREAM_CONDITIONS: 'development' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiters = new Map()
  child.on('message', (msg) => {
    const w = waiters.get(msg.type)
    if (w) {
      waiters.delete(msg.type)
      w(msg)
    }
  })
  const next = (type, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no '${type}' within ${timeoutMs} ms`)), timeoutMs)
      waiters.set(type, (msg) => {
        clearTimeout(timer)
        resolve(msg)
      })
    })
  return { child, next, send: (msg) => child.send(msg), stop: () => child.kill('SIGKILL') }
}

async function reset(clients) {
  const done = clients.next('reset-done')
  clients.send({ type: 'reset' })
  await done
}

async function runPeer(peer, redis) {
  await redis.flush()
  const nodes = ['a', 'b', 'c'].map((nodeId) => start('node.mjs', { peer, redisUrl: redis.url, nodeId }))
  try {
    const ports = (await Promise.all(nodes.map((n) => n.next('listening')))).map((m) => m.port)
    const clients = start('clients.mjs', { peer, ports: ports.slice(1), perNode: P.perNode })
    try {
      await clients.next('ready', 120_000)
      const members = 2 * P.perNode
      const [a] = nodes
      // Warm-up: subscriptions settled, JIT warm.
      await reset(clients)
      a.send({ type: 'burst', count: 500 })
      await a.next('burst-done')
      const warm = clients.next('reached')
      clients.send({ type: 'wait', total: 500 * members, timeoutMs: 30_000 })
      await warm

      await reset(clients)
      const t0 = (performance.timeOrigin + performance.now()) * 1000
      const reached = clients.next('reached', 120_000)
      // Arrivals that never come (a peer that drops under load) end the wait after 15 s of it.
      clients.send({ type: 'wait', total: P.burst * members, timeoutMs: 15_000 + P.burst * 10 })
      a.send({ type: 'burst', count: P.burst })
      await a.next('burst-done')
      const end = await reached
      if (end.short) log(`  short clients: ${JSON.stringify(end.short)}`)
      // Gaps the echostream nodes reported (a lost subscription, a history that could not fill it).
      const gaps = []
      for (const node of nodes) {
        const got = node.next('gaps')
        node.send({ type: 'gaps' })
        gaps.push(...(await got).gaps)
      }
      if (gaps.length) log(`  gaps reported: ${JSON.stringify(gaps.slice(0, 5))}${gaps.length > 5 ? ` (+${gaps.length - 5})` : ''}`)
      const seconds = (end.atUs - t0) / 1e6
      // Up to the last arrival; deliveries that never arrived are counted as lost, not as time.
      const eventsPerSecond = end.received / members / seconds
      const burstLost = P.burst * members - end.received

      await reset(clients)
      a.send({ type: 'paced', perSecond: P.perSecond, durationMs: P.pacedMs })
      const { sent } = await a.next('paced-done', P.pacedMs + 30_000)
      const all = clients.next('reached', 60_000)
      clients.send({ type: 'wait', total: sent * members, timeoutMs: 30_000 })
      const arrived = await all
      const lat = clients.next('latencies')
      clients.send({ type: 'latencies' })
      const { p50, p99, count } = await lat
      return { peer, ok: true, eventsPerSecond, deliveriesPerSecond: eventsPerSecond * members, burstLost, gapsReported: gaps.length, p50, p99, samples: count, pacedLost: sent * members - arrived.received }
    } finally {
      clients.stop()
    }
  } finally {
    for (const node of nodes) node.stop()
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}

const redis = await startRedis()
const runs = []
try {
  for (let rep = 1; rep <= reps; rep++) {
    for (const peer of peers) {
      log(`cluster fan-out: ${peer} #${rep}`)
      try {
        const run = await runPeer(peer, redis)
        runs.push({ rep, ...run })
        log(`  ${Math.round(run.eventsPerSecond)} events/s, p50 ${Math.round(run.p50)} µs, p99 ${Math.round(run.p99)} µs${run.burstLost ? `, ${run.burstLost} burst deliveries lost` : ''}${run.pacedLost ? `, ${run.pacedLost} paced deliveries lost` : ''}`)
      } catch (error) {
        runs.push({ rep, peer, ok: false, error: error.message })
        log(`  failed: ${error.message}`)
      }
    }
  }
} finally {
  redis.child.kill('SIGKILL')
}

const stat = (peer, key) => median(runs.filter((r) => r.ok && r.peer === peer).map((r) => r[key]))
const base = 'socketio'
const fmt = (v, unit) => (Number.isFinite(v) ? (unit === 'µs' ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v).toLocaleString('en-US')}`) : '—')
const ratio = (peer, key, higherBetter) => {
  const x = stat(peer, key)
  const y = stat(base, key)
  if (!Number.isFinite(x) || !Number.isFinite(y) || peer === base) return ''
  return ` (${(higherBetter ? x / y : x / y).toFixed(2)}×)`
}
const shown = peers
const lines = [
  `Cross-node fan-out (${reps} rep${reps > 1 ? 's' : ''}, medians; emit on node A → ${2 * P.perNode} clients on nodes B and C; one redis-server; ratio to socket.io + redis-adapter in the same run)`,
  '',
  `| metric | ${shown.map((p) => LABEL[p]).join(' | ')} |`,
  `| --- | ${shown.map(() => '---:').join(' | ')} |`,
  `| events/s (each to ${2 * P.perNode} clients) | ${shown.map((p) => fmt(stat(p, 'eventsPerSecond')) + ratio(p, 'eventsPerSecond', true)).join(' | ')} |`,
  `| latency p50 at ${P.perSecond} events/s | ${shown.map((p) => fmt(stat(p, 'p50'), 'µs') + ratio(p, 'p50', false)).join(' | ')} |`,
  `| latency p99 at ${P.perSecond} events/s | ${shown.map((p) => fmt(stat(p, 'p99'), 'µs') + ratio(p, 'p99', false)).join(' | ')} |`,
  `| deliveries lost (burst + paced, all reps) | ${shown.map((p) => runs.filter((r) => r.ok && r.peer === p).reduce((sum, r) => sum + r.burstLost + r.pacedLost, 0)).join(' | ')} |`,
]
console.log(lines.join('\n'))
const failed = runs.filter((r) => !r.ok)
if (failed.length) console.log(`\n${failed.length} run(s) failed: ${failed.map((r) => `${r.peer}#${r.rep}: ${r.error}`).join('; ')}`)
const resultsDir = join(here, '..', 'results')
mkdirSync(resultsDir, { recursive: true })
writeFileSync(join(resultsDir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ params: P, reps, runs }, null, 2))
