#!/usr/bin/env node
/**
 * The runner: `pnpm bench [--quick] [--reps N] [--only rpc,latency,…] [--peers limit,echostream,…]`
 * and `pnpm bench --profile`. For each repetition and each group of workloads (metrics.mjs): a
 * server child and a client child per peer (servers on one core, clients on the other), then each
 * workload peer after peer, then all stopped. Prints a markdown table of medians with spreads and ratios to the
 * limit; writes every raw run to bench/results/<timestamp>.json.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { Child, benchDir, fileLimits, pinningPlan, setWsNative, wsNativeCheck } from './child.mjs'
import { bundleRows, floorRows, metrics, params as allParams, pipelineRows } from './metrics.mjs'
import { bundleSizes } from './bundle-size.mjs'
import { peers, findPeer, LIMIT } from './peers/index.mjs'
import { renderTable, summarise, limitCheck, median } from './table.mjs'
import { summariseProfile } from './profile-summary.mjs'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    peers: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'js-ws': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})

if (args.help) {
  console.log(`pnpm bench [--quick] [--reps N] [--only ${[...metrics.map((m) => m.id), 'pipeline', 'floor', 'bundle'].join(',')}] [--peers ${peers.map((p) => p.name).join(',')}] [--no-pin] [--js-ws]
pnpm bench --profile [--quick] [--peers echostream] [--only rpc,latency1,fanout,stream]   CPU-profile a workload (default: RPC calls/s), server and client, and print the top 15 self-time functions
--no-build: skip the \`tsc -b\` that builds echostream's dist/ first (the children run the built packages)`)
  process.exit(0)
}

const mode = args.quick ? 'quick' : 'full'
const P = allParams[mode]
const reps = args.reps ? Math.max(1, Number(args.reps)) : P.reps
const pin = args['no-pin'] ? { enabled: false, why: '--no-pin' } : pinningPlan()
const wsNative = wsNativeCheck(args['js-ws'] ? 'js' : undefined)
setWsNative(wsNative.useNative)
const selectedPeers = args.peers ? args.peers.split(',').map((n) => findPeer(n.trim())) : args.profile ? [findPeer('echostream')] : peers
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : undefined
const selectedMetrics = metrics.filter((m) => !only || only.has(m.id))
const runPipeline = !args.profile && (!only || only.has('pipeline')) && selectedPeers.some((p) => p.name === 'echostream')
const runFloor = (!only || only.has('floor')) && selectedPeers.some((p) => p.name === 'echostream')
const runBundle = !args.profile && (!only || only.has('bundle'))
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const resultsDir = join(benchDir, 'results')
const log = (line) => process.stderr.write(`${line}\n`)

/** Hard cap for one run (server + client), whatever the workload says. */
const runTimeoutMs = mode === 'quick' ? 30_000 : 150_000

/** Notes printed under the table (open-file limit, peers the limit does not bound). */
const notes = []

/**
 * The memory workload holds `connections` sockets in each of two processes: raise the children's
 * open-file soft limit to what it needs (up to the hard limit), or measure fewer and say so.
 */
const memoryFiles = (() => {
  const needed = P.memory.connections + 512
  const limits = fileLimits()
  if (!limits || limits.soft >= needed) return undefined
  if (limits.hard >= needed) return needed
  const fewer = Math.max(100, Math.floor((limits.hard - 512) / 100) * 100)
  notes.push(`Memory rows: the open-file hard limit (${limits.hard}) allows ${fewer} connections, not ${P.memory.connections}: raise it (ulimit -Hn, as root) for the full figure.`)
  P.memory.connections = fewer
  return limits.hard
})()

/** Builds echostream's packages (`tsc -b`, incremental): the children run their dist/, not sources. */
function build() {
  if (args['no-build']) return log('build: skipped (--no-build): the children run whatever dist/ holds')
  const root = join(benchDir, '..')
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: ['ignore', 2, 2] })
  if (r.status !== 0) throw new Error('tsc -b failed: fix the build (the children run the built packages)')
  log(`build: tsc -b in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

function cpusFor(metric) {
  if (!pin.enabled) return { server: null, client: null }
  return metric.oneCore ? { server: pin.server, client: pin.server } : { server: pin.server, client: pin.client }
}

/** Starts one peer's server and client children for a group (their start-ups overlap). */
async function startPair(peer, mode, rep, extra) {
  const label = `${peer.name}/${mode}#${rep}`
  const serverFlags = [...(mode === 'memory' ? ['--expose-gc'] : []), ...(extra.serverFlags ?? [])]
  const placement = cpusFor({})
  const nofile = mode === 'memory' ? memoryFiles : undefined
  const server = new Child('./server.mjs', { peer: peer.name, mode }, { cpu: placement.server, nodeFlags: serverFlags, label: `${label} server`, nofile })
  const client = new Child('./client.mjs', { peer: peer.name, mode }, { cpu: placement.client, nodeFlags: extra.clientFlags ?? [], label: `${label} client`, nofile })
  const pair = { peer, server, client, clientCpu: placement.client, port: undefined, baseline: undefined, error: undefined }
  try {
    const [{ port }] = await Promise.all([server.waitFor('listening', 30_000), client.waitFor('loaded', 30_000)])
    pair.port = port
    // Memory: the server's reading with no connection, taken before its client connects.
    if (mode === 'memory') pair.baseline = await server.request({ type: 'memory' }, 'memory', 20_000)
  } catch (error) {
    pair.error = error.message
  }
  return pair
}

function stopPair(pair) {
  return Promise.all([pair.client.stop({ type: 'exit' }, 5000), pair.server.stop({ type: 'stop' }, 5000)])
}

/** Runs one workload on one pair (re-pinning its client first when the workload wants one core). */
async function runOnPair(pair, metric, p) {
  const cpus = cpusFor(metric)
  if (cpus.client !== pair.clientCpu) {
    pair.client.repin(cpus.client)
    pair.clientCpu = cpus.client
  }
  return runMetric(metric, p, pair.port, pair.server, pair.client, pair.baseline)
}

/** Σ calls ÷ Σ seconds over the slices of a sliced workload. */
function combineSlices(slices) {
  const sum = (key) => slices.reduce((a, r) => a + r[key], 0)
  return { value: sum('calls') / sum('seconds'), calls: sum('calls'), seconds: sum('seconds'), serverCpuUs: sum('serverCpuUs'), clientCpuUs: sum('clientCpuUs'), slices, windowUs: slices[0].windowUs }
}

/**
 * Runs one group of workloads for every peer. Every peer's server and client children are started
 * first and stay up (idle ones cost nothing), then each workload runs peer after peer — and a
 * sliced workload (RPC calls/s) slice after slice, peer after peer — so the noise of a shared
 * machine falls on every peer alike. Returns one run record per peer and workload.
 */
async function runGroup(peerList, group, rep, extra = {}) {
  const mode = group[0].group
  if (mode === 'coldstart') return runColdStart(peerList, group[0], rep)
  const pairs = await Promise.all(peerList.map((peer) => startPair(peer, mode, rep, extra)))
  const records = []
  const fail = (pair, metric, error) => {
    pair.error ??= error
    records.push({ peer: pair.peer.name, metric: metric.id, rep, ok: false, error })
  }
  try {
    for (const metric of group) {
      const runnable = pairs.filter((pair) => {
        if (pair.peer.skip?.[metric.id]) return false
        if (pair.error) fail(pair, metric, `not run: ${pair.error}`)
        return !pair.error
      })
      const p = P[metric.params]
      const slices = extra.noSlices ? 1 : (p.slices ?? 1)
      const parts = new Map(runnable.map((pair) => [pair, []]))
      /** Time each pair spent running this workload (its slices only, not the other peers'). */
      const busy = new Map()
      for (let s = 0; s < slices; s++) {
        for (const pair of runnable) {
          if (pair.error) continue
          const sp = slices === 1 ? p : { ...p, durationMs: p.durationMs / slices, warmupMs: s === 0 ? p.warmupMs : p.rewarmMs }
          try {
            const t0 = performance.now()
            parts.get(pair).push(await runOnPair(pair, metric, sp))
            busy.set(pair, (busy.get(pair) ?? 0) + performance.now() - t0)
          } catch (error) {
            // The pair may be in any state: the rest of its group is not run.
            fail(pair, metric, error.message)
          }
        }
      }
      for (const pair of runnable) {
        if (pair.error) continue
        const got = parts.get(pair)
        const result = slices === 1 ? got[0].result : combineSlices(got.map((r) => r.result))
        records.push({ peer: pair.peer.name, metric: metric.id, rep, ok: true, result, serverSide: got[0].serverSide, cpus: cpusFor(metric), ms: Math.round(busy.get(pair)) })
      }
    }
  } finally {
    await Promise.all(pairs.map(stopPair))
  }
  return records
}

async function runMetric(metric, p, port, server, client, baseline) {
  const result = client.waitFor('result', runTimeoutMs)
  result.catch(() => {}) // awaited below; this only keeps an early failure elsewhere from leaving it unhandled
  client.send({ type: 'run', metric: metric.id, params: p, port })
  if (metric.id === 'fanout') {
    await client.waitFor('ready', runTimeoutMs)
    const done = server.request({ type: 'fanout', params: p }, 'fanout-done', runTimeoutMs)
    done.catch(() => {})
    return { result: (await result).result, serverSide: await done }
  }
  if (metric.id === 'memory') {
    const ready = await client.waitFor('ready', runTimeoutMs)
    const loaded = await server.request({ type: 'memory' }, 'memory', 30_000)
    client.send({ type: 'release' })
    await result
    if (loaded.connections !== p.connections) throw new Error(`memory: the server counts ${loaded.connections} connections, the client opened ${ready.connections}`)
    const n = loaded.connections
    return {
      result: {
        connections: n,
        baseline,
        loaded,
        rssPerConnection: (loaded.rss - baseline.rss) / n,
        heapPerConnection: (loaded.heapUsed - baseline.heapUsed) / n,
        externalPerConnection: (loaded.external - baseline.external) / n,
      },
    }
  }
  if (metric.id === 'rpc') {
    // The client marks the start and end of its measured window; the server's CPU time is read then.
    const readings = []
    client.on('mark', () => readings.push(server.request({ type: 'cpu' }, 'cpu', 10_000)))
    const r = (await result).result
    client.on('mark', undefined)
    const [a, b] = await Promise.all(readings)
    const serverCpuUs = b.usage.user + b.usage.system - (a.usage.user + a.usage.system)
    return { result: { ...r, serverCpuUs } }
  }
  return { result: (await result).result }
}

/**
 * Cold start: `runs` fresh processes per peer (peer after peer, run after run, so noise falls on
 * all alike), each timing its own start to listening (src/cold-start.mjs); the median of the runs.
 */
async function runColdStart(peerList, metric, rep) {
  const p = P[metric.params]
  const times = new Map(peerList.map((peer) => [peer.name, []]))
  const spawnTimes = new Map(peerList.map((peer) => [peer.name, []]))
  const failed = new Map()
  for (let i = 0; i < p.runs; i++) {
    for (const peer of peerList) {
      if (failed.has(peer.name)) continue
      const t0 = performance.now()
      const child = new Child('./cold-start.mjs', { peer: peer.name }, { cpu: pin.enabled ? pin.server : null, label: `${peer.name}/coldstart#${rep}.${i}` })
      try {
        const { result } = await child.waitFor('result', p.maxMs)
        times.get(peer.name).push(result.value)
        spawnTimes.get(peer.name).push(performance.now() - t0)
      } catch (error) {
        failed.set(peer.name, error.message)
      } finally {
        await child.stop(undefined, 5000)
      }
    }
  }
  return peerList.map((peer) => {
    if (failed.has(peer.name)) return { peer: peer.name, metric: metric.id, rep, ok: false, error: failed.get(peer.name) }
    const runs = times.get(peer.name)
    const spawnMs = spawnTimes.get(peer.name)
    return { peer: peer.name, metric: metric.id, rep, ok: true, result: { value: median(runs), runs, spawnToResultMs: spawnMs }, cpus: { server: pin.enabled ? pin.server : null }, ms: Math.round(spawnMs.reduce((a, b) => a + b, 0)) }
  })
}

async function runPipelineBench(rep) {
  const cpu = pin.enabled ? pin.client : null
  const result = {}
  for (const taps of [0, 1, 5]) {
    // One process per tap count: the kernel's call sites see one hook set, as in a real server.
    const child = new Child('./pipeline.mjs', { taps, params: P.pipeline }, { cpu, label: `pipeline(${taps} taps)#${rep}` })
    try {
      const { result: r } = await child.waitFor('result', runTimeoutMs)
      result[`send${taps}`] = r.send
      result[`receive${taps}`] = r.receive
      result[`directSend${taps}`] = r.directSend
      result[`directReceive${taps}`] = r.directReceive
      result[`samples${taps}`] = r.samples
    } finally {
      await child.stop(undefined, 5000)
    }
  }
  return { peer: 'echostream', metric: 'pipeline', rep, ok: true, result, cpus: { server: cpu, client: cpu } }
}

/** The RPC call floor: limit and echostream in one process pinned to one core, no sockets. */
async function runFloorBench(rep, extra = {}) {
  const cpu = pin.enabled ? pin.server : null
  const child = new Child('./call-floor.mjs', { params: P.floor, only: extra.only }, { cpu, nodeFlags: extra.nodeFlags, label: `floor${extra.only ? `(${extra.only})` : ''}#${rep}` })
  try {
    const { result } = await child.waitFor('result', runTimeoutMs)
    return { peer: 'echostream', metric: 'floor', rep, ok: true, result, cpus: { server: cpu, client: cpu } }
  } finally {
    await child.stop(undefined, 5000)
  }
}

function machine() {
  const cpus = os.cpus()
  return { node: process.version, platform: `${os.platform()} ${os.release()}`, cpuModel: cpus[0]?.model, cpus: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg(), pinning: pin, wsNative }
}

/** The main thread's profile in `dir` (a worker thread, if any, writes one too: its thread id is not 0). */
function mainThreadProfile(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const main = files.find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0]
  if (!main) throw new Error(`no .cpuprofile in ${dir}`)
  return join(dir, main)
}

/** `--profile`: each selected throughput workload (default: RPC calls/s) once per selected peer, under --cpu-prof. */
async function profile() {
  const root = join(resultsDir, `profile-${stamp}`)
  if (only?.has('floor')) {
    // The call floor, each side alone in its process: every sample is that side's per-call work.
    for (const side of ['limit', 'kernel', 'echostream']) {
      const dir = join(root, `floor-${side}`)
      mkdirSync(dir, { recursive: true })
      log(`profiling the call floor: ${side} alone, one process, with --cpu-prof`)
      const run = await runFloorBench(1, { only: side, nodeFlags: ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`] })
      console.log(`\n## call floor — ${side}: ${fmtLog(run.result[side])} ns/call (fastest round) while profiling\n`)
      console.log(`Self time over the measured rounds (${run.result.windowUs.join('–')} µs, CLOCK_MONOTONIC).\n`)
      console.log(summariseProfile(mainThreadProfile(dir), 25, run.result.windowUs))
    }
    if (only.size === 1) return
  }
  const profilable = ['rpc', 'latency', 'latency1', 'fanout', 'stream', 'stream-tuned']
  const profiled = only ? selectedMetrics.filter((m) => profilable.includes(m.id)) : metrics.filter((m) => m.id === 'rpc')
  if (profiled.length === 0) throw new Error(`--profile works on ${[...profilable, 'floor'].join(', ')} (--only)`)
  for (const metric of profiled) {
    for (const peer of selectedPeers) {
      if (peer.skip?.[metric.id]) continue
      const dir = (who) => join(root, `${peer.name}-${metric.id}-${who}`)
      for (const who of ['server', 'client']) mkdirSync(dir(who), { recursive: true })
      const flags = (who) => ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${dir(who)}`]
      log(`profiling ${peer.name}: ${metric.rows[0].label} (${mode}) with --cpu-prof`)
      const [run] = await runGroup([peer], [metric], 1, { serverFlags: flags('server'), clientFlags: flags('client'), noSlices: true })
      if (!run.ok) throw new Error(run.error)
      const row = metric.rows[0]
      console.log(`\n## ${peer.name} — ${row.label}: ${fmtLog(row.value(run.result))} ${row.unit} while profiling\n`)
      const window = run.result.windowUs
      console.log(window ? `Self time counted over the measured window only (${window.join('–')} µs, CLOCK_MONOTONIC).\n` : 'Self time over the whole run (this workload reports no measured window).\n')
      for (const who of ['server', 'client']) {
        const file = mainThreadProfile(dir(who))
        console.log(`### ${peer.name} ${who} — top 15 by self time\n\n${file}\n`)
        console.log(summariseProfile(file, 15, window))
      }
    }
  }
}

/** The browser bundles, once (a build is deterministic): one record per peer that has a page client. */
async function runBundleSizes() {
  log('browser bundle sizes (esbuild, minified, gzip -9)')
  const sizes = await bundleSizes(selectedPeers.map((p) => p.name))
  return selectedPeers.map(({ name }) => {
    const size = sizes[name]
    if (!size) return { peer: name, metric: 'bundle', rep: 1, ok: false, skipped: 'no page client (TCP does not run in a browser)' }
    if (size.error) return { peer: name, metric: 'bundle', rep: 1, ok: false, error: size.error }
    log(`  bundle   ${name.padEnd(15)} ${(size.core.gzip / 1024).toFixed(1)} KiB min+gzip${size.full ? `, full ${(size.full.gzip / 1024).toFixed(1)} KiB` : ''}`)
    return { peer: name, metric: 'bundle', rep: 1, ok: true, result: size }
  })
}

async function main() {
  mkdirSync(resultsDir, { recursive: true })
  build()
  if (args.profile) return profile()
  const t0 = performance.now()
  const loadavgStart = os.loadavg()
  log(`echostream bench — ${mode}, ${reps} repetition${reps === 1 ? '' : 's'}, peers: ${selectedPeers.map((p) => p.name).join(', ')}; pinning: ${pin.enabled ? `server on cpu ${pin.server}, client on cpu ${pin.client} (one-core rows: both on ${pin.server})` : `off (${pin.why})`}; ws native addons: ${wsNative.useNative ? 'on' : 'off'} (${wsNative.why})`)
  const runs = []
  const groups = [...new Set(selectedMetrics.map((m) => m.group))].map((g) => selectedMetrics.filter((m) => m.group === g))
  for (let rep = 1; rep <= reps; rep++) {
    for (const group of groups) {
      for (const metric of group) {
        for (const peer of selectedPeers) if (rep === 1 && peer.skip?.[metric.id]) runs.push({ peer: peer.name, metric: metric.id, rep, ok: false, skipped: peer.skip[metric.id] })
      }
      const peersOfGroup = selectedPeers.filter((peer) => group.some((m) => !peer.skip?.[m.id]))
      const records = await runGroup(peersOfGroup, group, rep)
      for (const metric of group) {
        for (const run of records.filter((r) => r.metric === metric.id)) {
          runs.push(run)
          if (run.ok) log(`  rep ${rep} ${metric.id.padEnd(8)} ${run.peer.padEnd(15)} ${metric.rows.map((row) => `${row.id}=${fmtLog(row.value(run.result))}`).join(' ')}  (${run.ms} ms)`)
          else log(`  rep ${rep} ${metric.id.padEnd(8)} ${run.peer.padEnd(15)} FAILED: ${run.error}`)
        }
      }
    }
    if (runFloor) {
      try {
        const run = await runFloorBench(rep)
        runs.push(run)
        log(`  rep ${rep} floor    limit=${fmtLog(run.result.limit)} kernel=${fmtLog(run.result.kernel)} echostream=${fmtLog(run.result.echostream)} ns/call`)
      } catch (error) {
        runs.push({ peer: 'echostream', metric: 'floor', rep, ok: false, error: error.message })
        log(`  rep ${rep} floor FAILED: ${error.message}`)
      }
    }
    if (runPipeline) {
      try {
        const run = await runPipelineBench(rep)
        runs.push(run)
        log(`  rep ${rep} pipeline echostream      ${pipelineRows.map((row) => `${row.id.slice(9)}=${fmtLog(row.value(run.result))}`).join(' ')}`)
      } catch (error) {
        runs.push({ peer: 'echostream', metric: 'pipeline', rep, ok: false, error: error.message })
        log(`  rep ${rep} pipeline FAILED: ${error.message}`)
      }
    }
  }
  if (runBundle) runs.push(...(await runBundleSizes()))
  const elapsedS = (performance.now() - t0) / 1000
  const extras = [...(runBundle ? [{ id: 'bundle', rows: bundleRows }] : []), ...(runPipeline ? [{ id: 'pipeline', rows: pipelineRows }] : []), ...(runFloor ? [{ id: 'floor', rows: floorRows }] : [])]
  const rows = summarise(runs, selectedMetrics, extras, selectedPeers.map((p) => p.name))
  const file = join(resultsDir, `${stamp}.json`)
  const report = { startedAt: new Date(Date.now() - elapsedS * 1000).toISOString(), mode, reps, elapsedS, argv: process.argv.slice(2), machine: { ...machine(), loadavgStart }, params: P, peers: selectedPeers.map((p) => p.name), limit: LIMIT, rows, runs }
  writeFileSync(file, JSON.stringify(report, null, 2))
  for (const peer of selectedPeers) if (peer.overLimit) notes.push(`${peer.overLimit}: its ratios are to the ws limit, and "the limit is fastest" does not apply to it.`)
  console.log(renderTable(rows, selectedPeers.map((p) => p.name), { mode, reps, machine: report.machine, elapsedS, memoryConnections: P.memory.connections, notes }))
  const check = limitCheck(rows, new Set(selectedPeers.filter((p) => p.overLimit).map((p) => p.name)))
  if (selectedPeers.some((p) => p.name === LIMIT)) console.log(check.ok ? `\nThe limit is fastest on every throughput row.` : `\nWARNING: the limit is not fastest on: ${check.failures.join('; ')} — the harness is suspect.`)
  const failed = runs.filter((r) => !r.ok && !r.skipped)
  if (failed.length) console.log(`\n${failed.length} run(s) failed: ${failed.map((r) => `${r.peer}/${r.metric}#${r.rep}: ${r.error.split('\n')[0]}`).join('; ')}`)
  console.log(`\nRaw runs: ${file} (${elapsedS.toFixed(1)} s)`)
}

function fmtLog(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v)
  return v >= 100 ? Math.round(v).toString() : v.toFixed(2)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
