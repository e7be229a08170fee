/**
 * Kernel pipeline micro-benchmark (one process, echostream only). A server kernel with an
 * in-memory transport and a codec that does nothing (encode returns the same bytes, decode the same
 * frame), one open session, and `taps` identity middleware on `outbound` and `inbound`. Measures:
 *   send    — session.send(frame): Session#send → Kernel#sendFrame → outbound hook → encode → connection.send
 *   receive — connection.onMessage(bytes, arrivedAt): Kernel#receive → decode → inbound hook → route lookup → handler
 *   direct  — the same codec and connection called without the kernel (the floor)
 * Each count runs in its own process (spawned by the runner), so call sites in the kernel see one
 * hook set, as in a real server. Loops are bounded by count and time; each figure is the fastest of
 * `rounds` short rounds (~1–2 ms each, shorter than a scheduler slice: noise on a shared machine only
 * ever adds time, so the fastest round is the clean one).
 */
import { performance } from 'node:perf_hooks'
import { createKernel, definePlugin, PROTOCOL_VERSION } from '@echostream/kernel'

const spec = JSON.parse(process.env.BENCH_SPEC)
const { frames, maxMs, rounds } = spec.params
const taps = spec.taps
const send = (msg) => new Promise((resolve) => process.send(msg, resolve))
process.on('disconnect', () => process.exit(0))

const BYTES = new Uint8Array(16)
const FRAME = Object.freeze({ kind: 'bench.ping', id: 1, payload: 1 })
let decoded = { ok: true, frame: FRAME }
let sent = 0
let handled = 0

const codec = {
  name: 'bench',
  encode: () => BYTES,
  decode: () => decoded,
}

const connection = {
  peer: 'memory:0',
  bufferedAmount: 0,
  highWaterMark: 1 << 20,
  whenWritable: () => Promise.resolve(),
  send() {
    sent++
  },
  close() {},
  onMessage() {},
  onClose() {},
}

let accept
const memory = definePlugin({
  name: 'bench-memory',
  version: '1.0.0',
  kernel: '^1',
  provides: ['transport', 'codec'],
  setup(kernel) {
    kernel.provide('codec', codec)
    kernel.provide('transport', {
      name: 'memory',
      async listen(onConnection) {
        accept = onConnection
        return 'memory://bench'
      },
      async close() {},
      async connect() {
        throw new Error('server only')
      },
    })
    kernel.route('bench.ping', {
      handler() {
        handled++
      },
    })
  },
})

const middleware = definePlugin({
  name: 'bench-middleware',
  version: '1.0.0',
  kernel: '^1',
  setup(kernel) {
    for (let i = 0; i < taps; i++) {
      kernel.hooks.outbound.tap({ name: `bench-tap-${i}` }, (frame) => frame)
      kernel.hooks.inbound.tap({ name: `bench-tap-${i}` }, (frame) => frame)
    }
  },
})

// BENCH_OBSERVABILITY=1: with @echostream/plugin-observability's frame counting (metrics on, no admin listener, logs at warn).
const observability = process.env.BENCH_OBSERVABILITY === '1' ? [[(await import('@echostream/plugin-observability')).default, { admin: false, level: 'warn', destination: 'stderr' }]] : []
const kernel = await createKernel({ role: 'server', plugins: [memory, middleware, ...observability] })
await kernel.start()
accept(connection)
decoded = { ok: true, frame: { kind: 'hello', payload: { protocol: PROTOCOL_VERSION, codec: 'bench', plugins: {}, limits: { maxPayload: 1 << 20 } } } }
connection.onMessage(BYTES)
for (let i = 0; i < 100 && kernel.sessions().length === 0; i++) await new Promise((r) => setImmediate(r))
const [session] = kernel.sessions()
if (!session) throw new Error('pipeline: the in-memory session did not open')
decoded = { ok: true, frame: FRAME }

/** ns per iteration of `body`, over `frames` iterations or `maxMs`, whichever ends first. */
function measure(body) {
  const deadline = performance.now() + maxMs
  let n = 0
  const t0 = performance.now()
  while (n < frames) {
    for (let i = 0; i < 5_000; i++) body()
    n += 5_000
    if (performance.now() > deadline) break
  }
  return ((performance.now() - t0) * 1e6) / n
}

const paths = {
  send: () => session.send(FRAME),
  // A transport stamps the arrival time (Connection.onMessage(bytes, arrivedAt)); the kernel's own cost is measured here.
  receive: () => connection.onMessage(BYTES, 0),
  directSend: () => connection.send(codec.encode(FRAME)),
  directReceive: () => {
    const d = codec.decode(BYTES)
    if (d.ok && d.frame.kind === 'bench.ping') handled++
  },
}

const samples = { send: [], receive: [], directSend: [], directReceive: [] }
for (const body of Object.values(paths)) measure(body) // warm-up
for (let r = 0; r < rounds; r++) for (const [name, body] of Object.entries(paths)) samples[name].push(measure(body))
// The fastest round: on a shared machine noise only ever adds time (a descheduling, a GC of the runner).
const best = (xs) => Math.min(...xs)
if (sent === 0 || handled === 0) throw new Error('pipeline: nothing went through')
await send({ type: 'result', result: { taps, send: best(samples.send), receive: best(samples.receive), directSend: best(samples.directSend), directReceive: best(samples.directReceive), samples } })
await kernel.stop()
process.exit(0)
