/**
 * The client side of each workload, written once against the peer interface (`call`, `onEvent`,
 * `openStream`, `close`), so every peer runs exactly the same loop. Every loop is bounded in count
 * and in time and stops by itself.
 */
import { performance } from 'node:perf_hooks'

const now = () => performance.now()
/** CLOCK_MONOTONIC in µs: the clock V8's CPU profiles are stamped with, so a profile can be cut to the measured window. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function check(result, expected) {
  if (result !== expected) throw new Error(`wrong RPC result: got ${JSON.stringify(result)}, expected ${expected}`)
}

const cpuUs = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

/**
 * RPC calls/s with `inflight` calls outstanding on one connection: each lane issues its next call
 * as soon as its reply lands. Counted over `durationMs` after `warmupMs`. Also this process's CPU
 * time (user + system) over the window; `mark('start' | 'end')` lets the runner read the server's.
 */
export async function rpcThroughput(client, p, mark = () => {}) {
  let done = 0
  let stop = false
  const lane = async (seed) => {
    let i = seed
    while (!stop) {
      check(await client.call({ a: i, b: 1 }), i + 1)
      i += p.inflight
      if (++done >= p.maxCalls) stop = true
    }
  }
  const lanes = []
  const t0 = now()
  for (let i = 0; i < p.inflight; i++) lanes.push(lane(i))
  await sleep(p.warmupMs)
  mark('start')
  const start = { t: now(), done, us: monoUs(), cpu: cpuUs() }
  await sleep(p.durationMs)
  const end = { t: now(), done, us: monoUs(), cpu: cpuUs() }
  mark('end')
  stop = true
  const drained = await Promise.race([Promise.all(lanes).then(() => true), sleep(5000).then(() => false)])
  if (!drained) throw new Error('calls still in flight 5 s after the run ended')
  const calls = end.done - start.done
  const seconds = (end.t - start.t) / 1000
  return { value: calls / seconds, calls, seconds, clientCpuUs: end.cpu - start.cpu, totalCalls: done, cappedByCount: done >= p.maxCalls, wallMs: now() - t0, windowUs: [start.us, end.us] }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]
}

/** RPC latency with one call in flight: p50/p99 over up to `maxCalls` calls or `durationMs`, after a warm-up. */
export async function rpcLatency(client, p) {
  const warmEnd = now() + p.warmupMs
  for (let i = 0; i < p.warmupCalls && now() < warmEnd; i++) check(await client.call({ a: i, b: 1 }), i + 1)
  const samples = new Float64Array(p.maxCalls)
  let n = 0
  const deadline = now() + p.durationMs
  const us0 = monoUs()
  while (n < p.maxCalls && now() < deadline) {
    const t = now()
    const r = await client.call({ a: n, b: 1 })
    samples[n] = now() - t
    check(r, n + 1)
    n++
  }
  const sorted = samples.subarray(0, n).sort()
  const windowUs = [us0, monoUs()]
  return { p50: quantile(sorted, 0.5) * 1000, p99: quantile(sorted, 0.99) * 1000, mean: (sorted.reduce((a, b) => a + b, 0) / n) * 1000, calls: n, unit: 'µs', windowUs }
}

/**
 * Server→client fan-out: `clients` connections in this process; the server broadcasts `events`
 * small events (`{ n }`) as fast as the slowest socket's send buffer allows. Counts deliveries
 * (events × clients) per second, from the moment a tenth of them had arrived (JIT warm-up) to the last.
 */
export async function fanoutReceive(clients, p, signalReady) {
  const expected = p.events * clients.length
  const warm = Math.floor(expected / 10)
  let delivered = 0
  let tWarm = 0
  let tLast = 0
  let usWarm = 0
  let usLast = 0
  let finish
  const finished = new Promise((resolve) => (finish = resolve))
  const onTick = () => {
    delivered++
    if (delivered === warm) {
      tWarm = now()
      usWarm = monoUs()
    }
    if (delivered === expected) {
      tLast = now()
      usLast = monoUs()
      finish()
    }
  }
  for (const c of clients) await c.onEvent('tick', onTick)
  signalReady()
  const timer = setTimeout(finish, p.maxMs)
  await finished
  clearTimeout(timer)
  const complete = delivered === expected
  if (!complete) {
    tLast = now()
    usLast = monoUs()
  }
  if (!tWarm) throw new Error(`fan-out: only ${delivered} of ${expected} deliveries within ${p.maxMs} ms`)
  const counted = delivered - warm
  return { value: counted / ((tLast - tWarm) / 1000), delivered, expected, complete, clients: clients.length, seconds: (tLast - tWarm) / 1000, windowUs: [usWarm, usLast] }
}

/**
 * Client→server stream of `chunkBytes` binary chunks, `totalBytes` in all, after a warm-up stream
 * of `warmupBytes`; MB/s (10^6 bytes) from the first write to the server's confirmation of the
 * byte count.
 */
export async function streamUpload(client, p) {
  const chunk = Buffer.alloc(p.chunkBytes)
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i)
  const send = async (total, deadline) => {
    const w = await client.openStream()
    let sent = 0
    while (sent < total && now() < deadline) {
      await w.write(chunk)
      sent += chunk.length
    }
    const received = await w.end()
    if (received !== sent) throw new Error(`stream: the server counted ${received} bytes of ${sent}`)
    return sent
  }
  await send(p.warmupBytes, now() + p.maxMs)
  const t0 = now()
  const us0 = monoUs()
  const sent = await send(p.totalBytes, t0 + p.maxMs)
  const seconds = (now() - t0) / 1000
  return { value: sent / 1e6 / seconds, bytes: sent, seconds, complete: sent === p.totalBytes, windowUs: [us0, monoUs()] }
}

/**
 * Clock-sync accuracy as applications get it, over `clients` connections at once: waits until every
 * client's connect burst is done (`whenSynced()`: 8 probes each, at the plugin's default schedule),
 * then every `intervalMs` for `durationMs` reads each client's synchronised clock and the true
 * server time back to back. The true server time comes from this machine's monotonic clock (shared
 * by every process) plus the constant the server reported with it (`clock.reference()`), so the
 * error measured is the clock sync's alone. |error| p50/p99/max µs over every sample of every
 * client, the signed median (a bias shows there), and the correction still to slew when
 * whenSynced() resolved (median over clients).
 */
export async function clockAccuracy(clients, p) {
  const t0 = now()
  const atSync = await Promise.all(clients.map((c) => c.clock.whenSynced()))
  const syncMs = now() - t0
  // The clock steps to the first probe's estimate and slews later corrections (≤ 0.5 ms/s): what
  // is still to slew when whenSynced() resolves is error the application sees for a while.
  const pending = atSync.map((s) => Math.abs(s.offsetUs - s.estimatedOffsetUs)).sort((a, b) => a - b)
  const ref = await clients[0].clock.reference()
  const trueServerUs = () => Number(process.hrtime.bigint()) / 1000 + (ref.serverUs - ref.monotonicUs)
  const signed = []
  const deadline = now() + p.durationMs
  for (let round = 0; round < p.maxSamples && now() < deadline; round++) {
    for (const client of clients) {
      // The least-interrupted of three back-to-back readings: the spread bounds the reading error.
      let best = { error: 0, spread: Infinity }
      for (let i = 0; i < 3 && best.spread > 20; i++) {
        const before = trueServerUs()
        const synced = client.clock.now()
        const after = trueServerUs()
        if (after - before < best.spread) best = { error: synced - (before + after) / 2, spread: after - before }
      }
      signed.push(best.error)
    }
    await sleep(p.intervalMs)
  }
  const abs = signed.map(Math.abs).sort((a, b) => a - b)
  const readings = clients.map((c) => c.clock.reading())
  return {
    p50: quantile(abs, 0.5),
    p99: quantile(abs, 0.99),
    max: abs[abs.length - 1],
    signedMedian: quantile([...signed].sort((a, b) => a - b), 0.5),
    pendingSlewUs: quantile(pending, 0.5),
    pendingSlewMaxUs: pending[pending.length - 1],
    clients: clients.length,
    samples: signed.length,
    syncMs,
    probes: quantile(readings.map((r) => r.samples).sort((a, b) => a - b), 0.5),
    rttUs: quantile(readings.map((r) => r.rttUs).sort((a, b) => a - b), 0.5),
    unit: 'µs',
  }
}

/** Opens `count` idle connections, `batch` at a time, giving up after `maxMs`. */
export async function openMany(connect, count, batch, maxMs = 60_000) {
  const clients = []
  const deadline = now() + maxMs
  for (let i = 0; i < count; i += batch) {
    if (now() > deadline) throw new Error(`opened only ${clients.length} of ${count} connections in ${maxMs} ms`)
    const n = Math.min(batch, count - i)
    clients.push(...(await Promise.all(Array.from({ length: n }, () => connect()))))
  }
  return clients
}
