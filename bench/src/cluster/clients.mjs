/**
 * The clients of the cross-node fan-out bench, in one process: BENCH_SPEC = { peer, ports, perNode }
 * opens `perNode` clients to each port and joins them to room 'bench'. IPC: → { type: 'ready' };
 * { type: 'reset' } → { type: 'reset-done' }; { type: 'wait', total, timeoutMs } → { type: 'reached', atUs, received } once
 * `total` events arrived in all, or the timeout passed (`timedOut`; atUs is the last arrival); { type: 'latencies' } → { type:
 * 'latencies', p50, p99, count } over the arrivals since the last reset (µs, emit → receive).
 */
const spec = JSON.parse(process.env.BENCH_SPEC)
const send = (msg) => process.send(msg)
const now = () => (performance.timeOrigin + performance.now()) * 1000
process.on('disconnect', () => process.exit(0))

let received = 0
let lastAtUs = 0
/** Per client: the event numbers it got since the last reset (for a report of what is missing). */
const seen = []
let samples = []
let waiter
const onTickOf = (index) => (data) => {
  ;(seen[index] ??= []).push(data.n)
  onTick(data)
}
const onTick = (data) => {
  received++
  lastAtUs = now()
  samples.push(lastAtUs - data.t)
  if (waiter && received >= waiter.total) {
    const w = waiter
    waiter = undefined
    clearTimeout(w.timer)
    send({ type: 'reached', atUs: lastAtUs, received })
  }
}

const clients = []
if (spec.peer === 'socketio') {
  const { io } = await import('socket.io-client')
  for (const port of spec.ports) {
    for (let i = 0; i < spec.perNode; i++) {
      const socket = io(`ws://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false })
      await new Promise((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('connect_error', reject)
      })
      socket.on('tick', onTickOf(clients.length))
      await socket.emitWithAck('join', 'bench')
      clients.push(socket)
    }
  }
} else {
  const { createClient } = await import('@echostream/kernel')
  const { default: presetDefault } = await import('@echostream/preset-default')
  const { default: reconnect } = await import('@echostream/plugin-reconnect')
  const plugins = spec.peer === 'echostream-resume' ? [reconnect] : []
  for (const port of spec.ports) {
    for (let i = 0; i < spec.perNode; i++) {
      const client = await createClient({ preset: presetDefault, plugins, url: `ws://127.0.0.1:${port}` })
      await client.start()
      client.events.on('tick', onTickOf(clients.length))
      await client.rpc.request('join', 'bench')
      clients.push(client)
    }
  }
}

process.on('message', (msg) => {
  if (msg.type === 'reset') {
    received = 0
    samples = []
    seen.length = 0
    // Acknowledged, so the runner starts emitting only after it: an event counted before the reset
    // and then cleared would look lost.
    send({ type: 'reset-done' })
  } else if (msg.type === 'wait') {
    if (received >= msg.total) return send({ type: 'reached', atUs: lastAtUs, received })
    waiter = { total: msg.total, timer: setTimeout(() => {
      waiter = undefined
      const counts = seen.map((list) => list?.length ?? 0)
      const short = seen.findIndex((list) => (list?.length ?? 0) < Math.max(...counts))
      const sample = short >= 0 ? seen[short] ?? [] : []
      const holes = []
      for (let i = 1; i < sample.length && holes.length < 10; i++) if (sample[i] !== sample[i - 1] + 1) holes.push([sample[i - 1], sample[i]])
      send({ type: 'reached', atUs: lastAtUs, received, timedOut: true, short: { clients: counts.filter((c) => c < Math.max(...counts)).length, min: Math.min(...counts), max: Math.max(...counts), holes, first: sample[0], last: sample.at(-1) } })
    }, msg.timeoutMs) }
  } else if (msg.type === 'latencies') {
    const sorted = Float64Array.from(samples).sort()
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
    send({ type: 'latencies', p50: at(0.5), p99: at(0.99), count: sorted.length })
  }
})
send({ type: 'ready' })
