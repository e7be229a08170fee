/**
 * The fuzz test's structure-aware generator, part 1: a seeded PRNG, random plain values, and one
 * table of frame generators per plugin (every frame kind in PROTOCOL.md and each plugin's
 * `frames.ts`; the handshake fields plugins add — auth, reconnect's resume with keptAfter, cluster,
 * devtools' token, the welcome's resume/streams epoch/cluster sent the wrong way; clock-sync's
 * report in a ping's meta; the devtools plugin's RPC methods and its update event), plus the field
 * mutations applied on top. A generator returns the frame as it
 * travels, `[kind, id, name, payload, meta]`; the encodings that break MessagePack itself are in
 * fuzz-cases.ts.
 *
 * Adding a frame kind: add one entry to its plugin's list in FRAME_GENERATORS (name it `kind`,
 * make a frame that is *plausible*, the mutations make it hostile). An entry with `optOut` set is
 * skipped, with the defect named.
 */
import { seededRandom } from '@echostream/kernel'

/** The kernel's `seededRandom` (mulberry32) with the draws the generators use: a seed replays the same case sequence. */
export class Rng {
  /** [0, 1) */
  readonly next: () => number
  constructor(seed: number) {
    this.next = seededRandom(seed)
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }
  /** One of `table`'s keys, by weight. */
  weighted<K extends string>(table: Readonly<Record<K, number>>): K {
    const entries = Object.entries(table) as Array<[K, number]>
    let roll = this.next() * entries.reduce((sum, [, w]) => sum + w, 0)
    for (const [key, weight] of entries) if ((roll -= weight) < 0) return key
    return entries[entries.length - 1]![0]
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256)
    return out
  }
}

/** A frame as it travels. Elements may be anything: generators and mutations put wrong types in. */
export type RawFrame = unknown[]

/** What generators may draw on: names the server knows, and ids seen on this connection. */
export interface GenContext {
  rng: Rng
  /** Stream ids this connection opened (odd) or was offered by the server (even). */
  streamIds: number[]
  /** Request ids the server sent to this connection (rpc.req from the server). */
  serverRequestIds: number[]
  /** [sessionId, token] pairs from earlier welcomes, for resume attempts. */
  resumeTokens: Array<[string, string]>
  /** The wire protocol version the server speaks. */
  protocol: number
  /** The server's wire plugins (name → version), as a welcome lists them. */
  plugins: Record<string, number>
  /** The server's maxPayload (a size near it is interesting). */
  maxPayload: number
}

const STRINGS = ['', 'a', 'echo', 'é', '日本', '🌍', '__proto__', 'constructor', 'toJSON', 'prototype', 'hasOwnProperty', '\u0000', 'x'.repeat(300)]

export function randomString(rng: Rng): string {
  switch (rng.int(0, 4)) {
    case 0:
      return rng.pick(STRINGS)
    case 1:
      return rng.bytes(rng.int(0, 12)).toString('latin1')
    case 2:
      return String.fromCharCode(...Array.from({ length: rng.int(1, 8) }, () => rng.int(0, 0xffff)))
    case 3:
      return 'k'.repeat(rng.int(0, 5000))
    default:
      return rng.bytes(rng.int(1, 16)).toString('hex')
  }
}

export function randomNumber(rng: Rng): number {
  return rng.pick([
    0, -0, 1, -1, 127, 128, -33, 255, 65535, 65536, 2 ** 31, 2 ** 32, -(2 ** 31) - 1, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, 2 ** 64, 1e308, -1e308, 5e-324,
    0.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0x3fffffff, 0x40000000,
    rng.int(0, 1000), rng.int(-1000, 0), rng.next() * 1e6,
  ])
}

/** A random plain MessagePack value (what a well-formed payload may be), nested at most `depth`. */
export function randomValue(rng: Rng, depth = 3): unknown {
  const kind = depth <= 0 ? rng.int(0, 4) : rng.int(0, 7)
  switch (kind) {
    case 0:
      return null
    case 1:
      return rng.chance(0.5)
    case 2:
      return randomNumber(rng)
    case 3:
      return randomString(rng)
    case 4:
      return rng.bytes(rng.pick([0, 1, 16, 1000, 5000, 70_000]))
    case 5:
      return Array.from({ length: rng.int(0, 6) }, () => randomValue(rng, depth - 1))
    case 6: {
      const object: Record<string, unknown> = {}
      for (let i = rng.int(0, 5); i > 0; i--) Object.defineProperty(object, randomString(rng).slice(0, 40), { value: randomValue(rng, depth - 1), enumerable: true, writable: true, configurable: true })
      return object
    }
    default:
      return Array.from({ length: rng.int(0, 3) }, () => [randomValue(rng, depth - 1)])
  }
}

/** An id: mostly a plausible one, sometimes hostile. */
export function randomId(rng: Rng, plausible: number[] = []): unknown {
  if (plausible.length > 0 && rng.chance(0.5)) return rng.pick(plausible)
  return rng.chance(0.7) ? rng.int(0, 2000) : rng.pick([-1, 0.5, 2 ** 53, 2 ** 64, Number.NaN, '1', true, [1], { id: 1 }, null])
}

function plausibleOffset(rng: Rng): unknown {
  return rng.chance(0.7) ? rng.int(0, 4 * 1024 * 1024) : rng.pick([-1, 1.5, 2 ** 53 + 2, 2 ** 60, Number.NaN, '100', null, [1]])
}

function helloPayload(ctx: GenContext): Record<string, unknown> {
  return { protocol: ctx.protocol, codec: 'msgpack', plugins: { ...ctx.plugins }, limits: { maxPayload: 16 * 1024 * 1024 } }
}

/** A devtools token: mostly the server's, sometimes wrong, too long or not a string. */
export function devtoolsToken(rng: Rng): unknown {
  return rng.chance(0.6) ? FUZZ_DEVTOOLS_TOKEN : rng.pick([FUZZ_DEVTOOLS_TOKEN.slice(1), `${FUZZ_DEVTOOLS_TOKEN}x`, '', 'x'.repeat(600), 5, null, [FUZZ_DEVTOOLS_TOKEN], { token: FUZZ_DEVTOOLS_TOKEN }])
}

/** A number for a clock report (PROTOCOL.md, clock-sync `meta`): plausible µs, or what the server must ignore. */
function clockNumber(rng: Rng): unknown {
  return rng.chance(0.6) ? (rng.next() - 0.5) * rng.pick([1e3, 1e6, 1e9]) : rng.pick([Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 1e308, -1e308, 2 ** 64, -1, '5', null, [1], { us: 1 }])
}

/** clock.ping `meta`: the client's estimate so far `{ offsetUs, rttUs, jitterUs, samples }`, fields dropped or hostile at random. */
function clockReport(rng: Rng): unknown {
  if (rng.chance(0.15)) return randomValue(rng, 1)
  const report: Record<string, unknown> = {}
  for (const field of ['offsetUs', 'rttUs', 'jitterUs']) if (rng.chance(0.9)) report[field] = clockNumber(rng)
  if (rng.chance(0.9)) report.samples = rng.chance(0.7) ? rng.int(0, 64) : clockNumber(rng)
  if (rng.chance(0.1)) report[randomString(rng).slice(0, 20)] = randomValue(rng, 1)
  return report
}

export interface FrameGenerator {
  kind: string
  make(ctx: GenContext): RawFrame
  /** Set to skip this generator: name the defect it would hit, and who owns it. */
  optOut?: string
}

const RPC_METHODS = ['echo', 'add', 'slow', 'fail', 'reject', 'odd', 'missing', '', 'constructor', '__proto__']
/** The devtools plugin's token on the fuzz server (fuzz-server.ts): a 'devtools' connection presents it. */
export const FUZZ_DEVTOOLS_TOKEN = 'fuzz-devtools-token-0123456789'
/** devtools.* methods: the snapshot (answered to devtools sessions, E_UNAUTHORIZED to others) and names it does not have. */
const DEVTOOLS_METHODS = ['devtools.snapshot', 'devtools.', 'devtools.update', 'devtools.snapshot\u0000', 'Devtools.snapshot']
/** Streaming handlers of the fuzz server (rpc wire 2): results, odd items, and streamed inputs. */
const RPC_STREAMING = ['tokens', 'odd-stream', 'collect', 'mirror', 'fail-input']
/** Ids a connection's streaming calls use, so rpc.in / rpc.credit often hit a running call. */
const STREAM_CALL_IDS = [9001, 9002, 9003, 9004]

function streamingMeta(rng: Rng): Record<string, unknown> {
  const meta: Record<string, unknown> = {}
  if (rng.chance(0.6)) meta.window = rng.chance(0.8) ? rng.int(1, 200_000) : rng.pick([0, -1, 1.5, 2 ** 60, 'x', null])
  if (rng.chance(0.6)) meta.input = rng.pick([1, true, 0, 'yes', null])
  if (rng.chance(0.2)) meta.timeoutMs = rng.pick([50, 1000, -1])
  return meta
}

/** One list per plugin: every frame kind of PROTOCOL.md, the handshake fields plugins add, the devtools RPC method and event. */
export const FRAME_GENERATORS: Record<string, FrameGenerator[]> = {
  kernel: [
    { kind: 'hello', make: (ctx) => ['hello', null, null, helloPayload(ctx)] },
    {
      // A welcome the wrong way, with the fields plugins add to it (reconnect's resume, streams' epoch, cluster's node and epoch).
      kind: 'welcome',
      make: ({ rng, protocol, plugins }) => {
        const welcome: Record<string, unknown> = { sessionId: randomString(rng), protocol, plugins }
        if (rng.chance(0.5)) welcome.resume = rng.chance(0.7) ? { token: randomString(rng), graceMs: rng.int(0, 120_000), recovered: rng.chance(0.5), received: plausibleOffset(rng) } : randomValue(rng, 1)
        if (rng.chance(0.5)) welcome.streams = rng.chance(0.7) ? { epoch: rng.chance(0.7) ? randomString(rng) : randomValue(rng, 1) } : randomValue(rng, 1)
        if (rng.chance(0.3)) welcome.cluster = { node: randomString(rng), epoch: randomString(rng), recovered: rng.chance(0.5), reason: randomString(rng) }
        return ['welcome', null, null, welcome]
      },
    },
    {
      kind: 'error',
      make: ({ rng, serverRequestIds }) => [
        'error',
        randomId(rng, serverRequestIds),
        null,
        { code: rng.pick(['E_PROTOCOL', 'E_CODEC', 'E_INTERNAL', randomString(rng)]), message: randomString(rng), re: rng.pick(['rpc.req', 'stream.open', 'clock.ping', randomString(rng)]), retryable: rng.chance(0.5) },
      ],
    },
    { kind: 'unknown', make: ({ rng }) => [rng.pick(['nope', 'rpc', 'rpc.', '.', 'stream.', 'x'.repeat(1000), 'hello.', 'events.emit2']), randomId(rng), randomString(rng), randomValue(rng)] },
  ],
  rpc: [
    {
      kind: 'rpc.req',
      make: ({ rng }) => {
        const name = rng.pick(RPC_METHODS)
        const params = name === 'add' && rng.chance(0.5) ? { a: rng.int(0, 100), b: rng.int(0, 100) } : randomValue(rng)
        const frame: RawFrame = ['rpc.req', rng.int(1, 5000), name, params]
        if (rng.chance(0.3)) frame.push({ timeoutMs: rng.pick([1, 50, 1000, 0, -1, 1.5, 2 ** 40, 'x']) })
        return frame
      },
    },
    { kind: 'rpc.res', make: ({ rng, serverRequestIds }) => ['rpc.res', randomId(rng, serverRequestIds), null, randomValue(rng)] },
    { kind: 'rpc.err', make: ({ rng, serverRequestIds }) => ['rpc.err', randomId(rng, serverRequestIds), null, rng.chance(0.7) ? { code: rng.pick(['E_X', 'E_INTERNAL', '']), message: randomString(rng), data: randomValue(rng, 1) } : randomValue(rng)] },
    { kind: 'rpc.cancel', make: ({ rng }) => ['rpc.cancel', randomId(rng, [1, 2, 3, 4, 5, ...STREAM_CALL_IDS])] },
    // Streaming calls (rpc wire 2).
    {
      kind: 'rpc.req-stream',
      make: ({ rng }) => ['rpc.req', rng.chance(0.7) ? rng.pick(STREAM_CALL_IDS) : rng.int(1, 5000), rng.pick(RPC_STREAMING), rng.chance(0.5) ? rng.int(0, 3000) : randomValue(rng, 1), streamingMeta(rng)],
    },
    { kind: 'rpc.credit', make: ({ rng }) => ['rpc.credit', randomId(rng, STREAM_CALL_IDS), null, plausibleOffset(rng)] },
    { kind: 'rpc.in', make: ({ rng }) => ['rpc.in', randomId(rng, STREAM_CALL_IDS), null, randomValue(rng, 2)] },
    { kind: 'rpc.inend', make: ({ rng }) => ['rpc.inend', randomId(rng, STREAM_CALL_IDS)] },
    { kind: 'rpc.item', make: ({ rng, serverRequestIds }) => ['rpc.item', randomId(rng, serverRequestIds), null, randomValue(rng, 2)] },
    { kind: 'rpc.end', make: ({ rng, serverRequestIds }) => ['rpc.end', randomId(rng, serverRequestIds), null, randomValue(rng, 1)] },
    { kind: 'rpc.incredit', make: ({ rng, serverRequestIds }) => ['rpc.incredit', randomId(rng, serverRequestIds), null, plausibleOffset(rng)] },
  ],
  devtools: [
    // devtools.* over RPC: a snapshot for sessions that presented the token ('devtools' connections), E_UNAUTHORIZED for the others.
    { kind: 'rpc.req-devtools', make: ({ rng }) => ['rpc.req', rng.int(1, 5000), rng.pick(DEVTOOLS_METHODS), rng.chance(0.5) ? null : randomValue(rng, 2)] },
    // The pushed event, sent the wrong way (client to server): no listener, dropped.
    { kind: 'events.emit-devtools-update', make: ({ rng }) => ['events.emit', null, 'devtools.update', randomValue(rng, 3)] },
    { kind: 'hello.devtools', make: (ctx) => ['hello', null, null, { ...helloPayload(ctx), devtoolsToken: devtoolsToken(ctx.rng) }] },
  ],
  events: [
    { kind: 'events.emit', make: ({ rng }) => ['events.emit', rng.chance(0.9) ? null : randomId(rng), rng.pick(['echo', 'chat', 'ask', 'fail', 'odd', 'tick', '', randomString(rng)]), randomValue(rng)] },
  ],
  streams: [
    {
      kind: 'stream.open',
      make: ({ rng, streamIds }) => {
        const id = rng.chance(0.8) ? rng.int(0, 200) * 2 + 1 : (randomId(rng) as number)
        if (typeof id === 'number') streamIds.push(id)
        return ['stream.open', id, rng.pick(['sink', 'fail', 'nobody', '', randomString(rng)]), rng.chance(0.5) ? { meta: randomValue(rng, 2) } : randomValue(rng, 1)]
      },
    },
    { kind: 'stream.accept', make: ({ rng, streamIds }) => ['stream.accept', randomId(rng, streamIds), null, plausibleOffset(rng)] },
    {
      kind: 'stream.data',
      make: ({ rng, streamIds }) => ['stream.data', randomId(rng, streamIds), null, rng.chance(0.8) ? [rng.int(0, 1000), rng.int(0, 2 ** 40), randomValue(rng, 2)] : randomValue(rng)],
    },
    { kind: 'stream.credit', make: ({ rng, streamIds }) => ['stream.credit', randomId(rng, streamIds), null, plausibleOffset(rng)] },
    { kind: 'stream.conncredit', make: ({ rng }) => ['stream.conncredit', null, null, plausibleOffset(rng)] },
    { kind: 'stream.blocked', make: ({ rng, streamIds }) => ['stream.blocked', randomId(rng, streamIds), null, plausibleOffset(rng)] },
    { kind: 'stream.connblocked', make: ({ rng }) => ['stream.connblocked', null, null, plausibleOffset(rng)] },
    { kind: 'stream.end', make: ({ rng, streamIds }) => ['stream.end', randomId(rng, streamIds)] },
    { kind: 'stream.fence', make: ({ rng }) => ['stream.fence', null, null, rng.chance(0.5) ? randomString(rng) : randomValue(rng, 1)] },
    { kind: 'stream.abort', make: ({ rng, streamIds }) => ['stream.abort', randomId(rng, streamIds), null, rng.chance(0.7) ? { code: rng.pick(['E_CANCELLED', 'E_X', '']), message: randomString(rng) } : randomValue(rng, 1)] },
  ],
  'clock-sync': [
    { kind: 'clock.ping', make: ({ rng }) => ['clock.ping', randomId(rng), null, rng.chance(0.7) ? rng.int(0, 2 ** 50) : randomValue(rng, 1)] },
    // With the client's report (offset, rtt, jitter, samples): the server keeps it for devtools and metrics.
    { kind: 'clock.ping-report', make: ({ rng }) => ['clock.ping', randomId(rng), null, rng.chance(0.8) ? rng.int(0, 2 ** 50) : randomValue(rng, 1), clockReport(rng)] },
    { kind: 'clock.pong', make: ({ rng }) => ['clock.pong', randomId(rng), null, rng.chance(0.5) ? [rng.int(0, 2 ** 50), rng.int(0, 2 ** 50), rng.int(0, 2 ** 50)] : randomValue(rng, 1)] },
  ],
  reconnect: [
    { kind: 'reconnect.ack', make: ({ rng }) => ['reconnect.ack', null, null, plausibleOffset(rng)] },
    {
      kind: 'hello.resume',
      make: (ctx) => {
        const [sessionId, token] = ctx.resumeTokens.length > 0 && ctx.rng.chance(0.7) ? ctx.rng.pick(ctx.resumeTokens) : [randomString(ctx.rng), randomString(ctx.rng)]
        const resume: Record<string, unknown> = { sessionId, token, received: plausibleOffset(ctx.rng) }
        if (ctx.rng.chance(0.5)) resume.keptAfter = plausibleOffset(ctx.rng)
        return ['hello', null, null, { ...helloPayload(ctx), resume: ctx.rng.chance(0.8) ? resume : randomValue(ctx.rng, 2) }]
      },
    },
  ],
  auth: [{ kind: 'hello.auth', make: (ctx) => ['hello', null, null, { ...helloPayload(ctx), auth: randomValue(ctx.rng, 2) }] }],
  // No frames of its own (PROTOCOL.md, cluster): its handshake fields and its recovery event. The
  // fuzz server does not load cluster (it needs Redis on every frame's path): these show that a
  // server without it ignores them.
  cluster: [
    {
      kind: 'hello.cluster',
      make: (ctx) => {
        const [sessionId, token] = ctx.resumeTokens.length > 0 && ctx.rng.chance(0.5) ? ctx.rng.pick(ctx.resumeTokens) : [randomString(ctx.rng), randomString(ctx.rng)]
        return ['hello', null, null, { ...helloPayload(ctx), cluster: ctx.rng.chance(0.7) ? { epoch: ctx.rng.chance(0.5) ? randomString(ctx.rng) : randomValue(ctx.rng, 1) } : randomValue(ctx.rng, 2), resume: { sessionId, token, received: plausibleOffset(ctx.rng) } }]
      },
    },
    { kind: 'events.emit-cluster-recovery', make: ({ rng }) => ['events.emit', null, '$cluster.recovery', rng.chance(0.6) ? { recovered: false, room: randomString(rng), reason: rng.pick(['trimmed', 'epoch', 'limit', randomString(rng)]) } : randomValue(rng, 2)] },
  ],
}

/** Every generator not opted out, flattened, with its plugin. */
export function activeGenerators(): Array<FrameGenerator & { plugin: string }> {
  return Object.entries(FRAME_GENERATORS).flatMap(([plugin, list]) => list.filter((g) => !g.optOut).map((g) => ({ ...g, plugin })))
}

/** Field mutations: wrong types, hostile ids, missing and extra fields. Returns a description. */
export function mutate(rng: Rng, frame: RawFrame): string {
  switch (rng.int(0, 9)) {
    case 0:
      frame[1] = rng.pick([-1, 0.5, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), Number.NaN, Number.POSITIVE_INFINITY, '7', [7], { id: 7 }, true])
      return 'id'
    case 1:
      frame[2] = rng.pick([0, -5, [], {}, true, Buffer.from('name'), 'n'.repeat(100_000)])
      return 'name'
    case 2:
      frame[0] = rng.pick([0, '', null, ['rpc.req'], { kind: 'rpc.req' }, Buffer.from('rpc.req'), `${frame[0]}\u0000`, String(frame[0]).toUpperCase()])
      return 'kind'
    case 3:
      frame.length = rng.int(0, Math.max(0, frame.length - 1))
      return 'missing'
    case 4:
      while (frame.length < 5) frame.push(null)
      frame.push(...Array.from({ length: rng.int(1, 4) }, () => randomValue(rng, 1)))
      return 'extra'
    case 5:
      while (frame.length < 4) frame.push(null)
      frame[4] = rng.pick([[1], 'meta', 5, Buffer.from('m'), true, { timeoutMs: -1 }, JSON.parse('{"__proto__": {"x": 1}}')])
      return 'meta'
    case 6:
      while (frame.length < 4) frame.push(null)
      frame[3] = randomValue(rng, 4)
      return 'payload'
    case 7: {
      // A payload nested close to the default depth limit (100): legal, but deep.
      while (frame.length < 4) frame.push(null)
      let value: unknown = randomValue(rng, 0)
      for (let i = rng.int(80, 98); i > 0; i--) value = rng.chance(0.5) ? [value] : { d: value }
      frame[3] = value
      return 'deep-payload'
    }
    case 8:
      while (frame.length < 4) frame.push(null)
      frame[3] = Array.from({ length: rng.int(1000, 20_000) }, (_, i) => i)
      return 'wide-payload'
    default:
      return 'none'
  }
}
