/**
 * The RPC call floor, in one process on one core, without sockets: what one call costs in
 * JavaScript, echostream against the limit, with the network taken out. The one-core latency row
 * measures the same path plus two socket writes and two wake-ups; those are the same for both
 * peers, and on a shared machine they bury the difference in noise. Here it stands alone, and
 * `pnpm bench --profile --only floor` profiles it (one process: every sample is a call's work).
 *
 *   limit      — the limit peer's protocol exactly (src/peers/limit.mjs): client packs
 *                [id, 'add', params] with one Packr, the server unpacks, packs [id, result], the
 *                client unpacks and resolves the call's promise from its table of pending calls.
 *   echostream — a server kernel and a client kernel (preset-default's codec-msgpack and rpc, from
 *                dist/) joined by an in-memory transport: `client.rpc.request('add', params)`
 *                end to end — rpc requester, kernel send path, codec encode, (transport), kernel
 *                receive path, codec decode, rpc responder, handler, and back.
 *   kernel     — the same kernels and codec, with the limit's bookkeeping on two routes instead of
 *                the rpc plugin: echostream − kernel is the rpc plugin's share, kernel − limit the
 *                kernel's and the codec's (and the stages below split the codec's).
 *
 * Both deliver each message on a microtask (`queueMicrotask`): an asynchronous hop as a socket
 * would be, with no I/O. One call in flight; each figure is the CPU time per call of the fastest of
 * `rounds` rounds of `calls` calls (noise on a shared machine only ever adds time).
 */
import { performance } from 'node:perf_hooks'
import { Packr } from 'msgpackr'
import { createClient, createServer, definePlugin } from '@echostream/kernel'
import codecMsgpack, { createMsgpackCodec } from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'

const spec = JSON.parse(process.env.BENCH_SPEC ?? '{"params":{"calls":20000,"rounds":15,"maxMs":200}}')
const { calls, rounds, maxMs } = spec.params
/** Which to run: both (the table), or one alone (under --cpu-prof, so every sample is that one's). */
const only = spec.only
const send = (msg) => (process.send ? new Promise((resolve) => process.send(msg, resolve)) : console.log(JSON.stringify(msg)))
process.on('disconnect', () => process.exit(0))

// ---------------------------------------------------------------- the limit, without sockets

const PENDING_SLOTS = 1024

function limitPair() {
  const packrOptions = { useRecords: false, moreTypes: false, mapsAsObjects: true, encodeUndefinedAsNil: true }
  const serverPackr = new Packr(packrOptions)
  const clientPackr = new Packr(packrOptions)
  // Pending calls in an array indexed by id (as limit.mjs): a Map set + delete per call costs ~220 ns.
  const pending = new Array(PENDING_SLOTS)
  let nextId = 1
  const toClient = (bytes) =>
    queueMicrotask(() => {
      const msg = clientPackr.unpack(bytes)
      const slot = msg[0] & (PENDING_SLOTS - 1)
      const resolve = pending[slot]
      pending[slot] = undefined
      resolve?.(msg[1])
    })
  const toServer = (bytes) =>
    queueMicrotask(() => {
      const [id, method, params] = serverPackr.unpack(bytes)
      toClient(serverPackr.pack(method === 'add' ? [id, params.a + params.b] : [id, null]))
    })
  return {
    call(params) {
      const id = nextId++
      if (nextId > 0x3fffffff) nextId = 1
      return new Promise((resolve) => {
        pending[id & (PENDING_SLOTS - 1)] = resolve
        toServer(clientPackr.pack([id, 'add', params]))
      })
    },
    close: async () => {},
  }
}

// ---------------------------------------------------------------- echostream, in-memory transport

/** Two in-memory connections joined back to back; each delivers on a microtask. */
function connectionPair() {
  const make = (peer) => ({
    peer,
    bufferedAmount: 0,
    highWaterMark: 1 << 20,
    whenWritable: () => Promise.resolve(),
    other: undefined,
    send(bytes) {
      const other = this.other
      queueMicrotask(() => other.onMessage(bytes, 0))
    },
    close(code, reason) {
      const other = this.other
      queueMicrotask(() => other.onClose(code, reason))
      queueMicrotask(() => this.onClose(code, reason))
    },
    onMessage() {},
    onClose() {},
  })
  const a = make('memory:client')
  const b = make('memory:server')
  a.other = b
  b.other = a
  return [a, b]
}

function memoryTransport(hub) {
  return definePlugin({
    name: 'transport-memory',
    version: '1.0.0',
    kernel: '^1',
    provides: ['transport'],
    setup(kernel) {
      kernel.provide('transport', {
        name: 'memory',
        async listen(onConnection) {
          hub.accept = onConnection
          return 'memory://floor'
        },
        async close() {},
        async connect() {
          const [client, server] = connectionPair()
          hub.accept(server)
          return client
        },
        limits: () => ({ maxPayload: 1 << 20 }),
      })
    },
  })
}

async function echostreamPair() {
  const hub = {}
  const plugins = [memoryTransport(hub), codecMsgpack, rpc]
  const server = await createServer({ plugins })
  server.rpc.handle('add', (params) => params.a + params.b)
  await server.start()
  const client = await createClient({ plugins, url: 'memory://floor' })
  await client.start()
  return {
    call: (params) => client.rpc.request('add', params),
    close: async () => {
      await client.stop()
      await server.stop()
    },
  }
}

/**
 * echostream's kernel and codec with the limit's own call bookkeeping (frames on two routes, the
 * pending table an array, no rpc plugin): the difference to `echostream` is the rpc plugin's share.
 */
async function kernelPair() {
  const hub = {}
  const pending = new Array(PENDING_SLOTS)
  let nextId = 1
  const calls = definePlugin({
    name: 'floor-calls',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel) {
      kernel.route('floor.req', {
        handler(frame, session) {
          const params = frame.payload
          session.send({ kind: 'floor.res', id: frame.id, payload: params.a + params.b })
        },
      })
      kernel.route('floor.res', {
        handler(frame) {
          const slot = frame.id & (PENDING_SLOTS - 1)
          const resolve = pending[slot]
          pending[slot] = undefined
          resolve?.(frame.payload)
        },
      })
    },
  })
  const plugins = [memoryTransport(hub), codecMsgpack, calls]
  const server = await createServer({ plugins })
  await server.start()
  const client = await createClient({ plugins, url: 'memory://floor' })
  await client.start()
  const session = client.session
  return {
    call(params) {
      const id = nextId++
      if (nextId > 0x3fffffff) nextId = 1
      return new Promise((resolve) => {
        pending[id & (PENDING_SLOTS - 1)] = resolve
        session.send({ kind: 'floor.req', id, name: 'add', payload: params })
      })
    },
    close: async () => {
      await client.stop()
      await server.stop()
    },
  }
}

// ---------------------------------------------------------------- measuring

const cpuNs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

/**
 * CPU ns per call over `calls` sequential calls (or `maxMs`), results checked. CPU time, not wall
 * time: with no I/O the process never waits, so its CPU time is the calls' work, and time spent
 * descheduled (other processes on this shared core) does not count.
 */
async function round(peer) {
  const deadline = performance.now() + maxMs
  const t0 = cpuNs()
  let n = 0
  while (n < calls) {
    const r = await peer.call({ a: n, b: 1 })
    if (r !== n + 1) throw new Error(`wrong result ${r} for ${n} + 1`)
    n++
    if ((n & 1023) === 0 && performance.now() > deadline) break
  }
  return (cpuNs() - t0) / n
}

// ---------------------------------------------------------------- stages

/**
 * The codec's share, stage by stage, each in a tight loop (the fastest of `rounds` rounds): the
 * same four messages a call makes (request and reply, encoded and decoded), by the limit's Packr
 * and by echostream's codec. Every decode reads a message the decoder has not seen (a fresh copy,
 * as every socket read is): msgpackr caches a DataView on the buffer it reads, so decoding one
 * buffer again and again would measure a cache the network never gives it. And the frame shapes
 * the issue names: a frame built property by property (as the codec's toFrame does) against one
 * object literal, and the `{ ok, frame }` wrapper every decode returns.
 */
function stages() {
  const packrOptions = { useRecords: false, moreTypes: false, mapsAsObjects: true, encodeUndefinedAsNil: true }
  const packr = new Packr(packrOptions)
  const codec = createMsgpackCodec()
  const params = { a: 20, b: 22 }
  const copies = (bytes) => Array.from({ length: 4096 }, () => Buffer.from(bytes))
  const limitReq = copies(packr.pack([7, 'add', params]))
  const limitRes = copies(packr.pack([7, 42]))
  const echoReq = copies(codec.encode({ kind: 'rpc.req', id: 7, name: 'add', payload: params }))
  const echoRes = copies(codec.encode({ kind: 'rpc.res', id: 7, payload: 42 }))
  let sink = 0
  const N = 4096
  // Per stage: [the limit's message by its Packr, echostream's message by the same Packr (the wire
  // format's share: the kind string, the longer array), echostream's codec (the codec's own share)].
  const loops = {
    'encode request': [
      () => (sink += packr.pack([7, 'add', params]).length),
      () => (sink += packr.pack(['rpc.req', 7, 'add', params]).length),
      () => (sink += codec.encode({ kind: 'rpc.req', id: 7, name: 'add', payload: params }).length),
    ],
    'decode request': [(i) => (sink += packr.unpack(limitReq[i])[0]), (i) => (sink += packr.unpack(echoReq[i])[1]), (i) => (sink += codec.decode(echoReq[i]).frame.id)],
    'encode reply': [
      () => (sink += packr.pack([7, 42]).length),
      () => (sink += packr.pack(['rpc.res', 7, null, 42]).length),
      () => (sink += codec.encode({ kind: 'rpc.res', id: 7, payload: 42 }).length),
    ],
    'decode reply': [(i) => (sink += packr.unpack(limitRes[i])[1]), (i) => (sink += packr.unpack(echoRes[i])[1]), (i) => (sink += codec.decode(echoRes[i]).frame.payload)],
  }
  // Frame shapes (no codec): what toFrame builds, against a literal; and the wrapper. Each object
  // escapes into a ring (as a frame does, to the route handler): else V8 never allocates it.
  const value = ['rpc.req', 7, 'add', params]
  const ring = new Array(1024)
  const shapes = {
    'frame: property by property (toFrame)': (i) => {
      const frame = { kind: value[0] }
      frame.id = value[1]
      frame.name = value[2]
      frame.payload = value[3]
      ring[i & 1023] = frame
    },
    'frame: one object literal': (i) => {
      ring[i & 1023] = { kind: value[0], id: value[1], name: value[2], payload: value[3], meta: undefined }
    },
    'decode result wrapper { ok, frame }': (i) => {
      ring[i & 1023] = { ok: true, frame: value }
    },
  }
  const time = (body) => {
    let bestNs = Infinity
    for (let r = 0; r < Math.max(20, rounds); r++) {
      const t0 = performance.now()
      for (let i = 0; i < N; i++) body(i)
      bestNs = Math.min(bestNs, ((performance.now() - t0) * 1e6) / N)
    }
    return bestNs
  }
  const out = { codec: {}, shapes: {} }
  for (const [name, [limit, wire, echo]] of Object.entries(loops)) {
    for (const body of [limit, wire, echo]) time(body) // warm-up
    out.codec[name] = { limit: time(limit), wire: time(wire), echostream: time(echo) }
  }
  for (const [name, body] of Object.entries(shapes)) {
    time(body)
    out.shapes[name] = time(body)
  }
  if (sink === 0) throw new Error('stages: nothing measured')
  return out
}

const peers = {}
if (!only || only === 'limit') peers.limit = limitPair()
if (!only || only === 'kernel') peers.kernel = await kernelPair()
if (!only || only === 'echostream') peers.echostream = await echostreamPair()
for (const peer of Object.values(peers)) for (let i = 0; i < 3; i++) await round(peer) // warm-up: JIT
const samples = Object.fromEntries(Object.keys(peers).map((name) => [name, []]))
const monoUs = () => Number(process.hrtime.bigint() / 1000n)
const windowUs = [monoUs()]
for (let r = 0; r < rounds; r++) for (const [name, peer] of Object.entries(peers)) samples[name].push(await round(peer))
windowUs.push(monoUs())
const best = (xs) => (xs.length ? Math.min(...xs) : undefined)
const calls0 = Object.values(samples)[0]?.length ?? 0
const stageTimes = only ? undefined : stages()
await send({ type: 'result', result: { limit: best(samples.limit ?? []), kernel: best(samples.kernel ?? []), echostream: best(samples.echostream ?? []), samples, windowUs, rounds: calls0, stages: stageTimes } })
for (const peer of Object.values(peers)) await peer.close()
process.exit(0)
