/**
 * The fuzz test's structure-aware generator, part 2: what goes on the wire. A case is one or more
 * WebSocket messages built from a generated frame (fuzz-frames.ts) and then broken at the byte
 * level: extension types, msgpackr's cyclic structured-clone records, records and bundled strings,
 * declared-length and depth bombs, 0xc1, non-scalar map keys, truncations, trailing bytes, random
 * bytes, text frames (valid and invalid UTF-8), oversize and near-limit messages, and handshakes
 * out of order. Every choice comes from the seeded Rng, so a seed replays the same cases.
 *
 * Adding a case: a function in HOSTILE_CASES (and a weight in CASE_WEIGHTS); `optOut` in
 * OPTED_OUT_CASES skips one with the defect named.
 */
import { Packr } from 'msgpackr'
import { activeGenerators, mutate, randomValue, type GenContext, type RawFrame, type Rng } from './fuzz-frames.js'

/** One WebSocket message: bytes sent as binary (or as text when `text`), or a string sent as text. */
export interface WireMessage {
  data: Uint8Array | string
  text?: boolean
}

export interface FuzzCase {
  /** e.g. `frame:rpc.req+id`, `bomb-length:array32` — counted and printed on failure. */
  name: string
  messages: WireMessage[]
}

/** Plain MessagePack, as any library writes it (map sizes as small as they go). */
const plain = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true })
const clone = new Packr({ structuredClone: true, useRecords: false })
const records = new Packr({ useRecords: true })
const bundles = new Packr({ bundleStrings: true, useRecords: false })
const defaults = new Packr()

const PLACEHOLDER = 'fuzz\u0001raw\u0001placeholder'
const PLACEHOLDER_BYTES = plain.pack(PLACEHOLDER)

/** `frame` packed with `raw` bytes spliced in at a random place (where a placeholder string was). */
function packWithRaw(rng: Rng, frame: RawFrame, raw: Uint8Array): Buffer {
  const copy = frame.slice()
  while (copy.length < 4) copy.push(null)
  switch (rng.int(0, 4)) {
    case 0:
      copy[3] = PLACEHOLDER
      break
    case 1:
      copy[3] = [1, PLACEHOLDER]
      break
    case 2:
      copy[3] = { x: PLACEHOLDER, y: 2 }
      break
    case 3:
      while (copy.length < 5) copy.push(null)
      copy[4] = { t: PLACEHOLDER }
      break
    default:
      copy[rng.int(1, 2)] = PLACEHOLDER
  }
  const bytes = Buffer.from(plain.pack(copy))
  const at = bytes.indexOf(PLACEHOLDER_BYTES)
  return Buffer.concat([bytes.subarray(0, at), raw, bytes.subarray(at + PLACEHOLDER_BYTES.length)])
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

/** A generated frame, mutated half the time. */
export function generatedFrame(ctx: GenContext): { frame: RawFrame; name: string } {
  const generator = ctx.rng.pick(activeGenerators())
  const frame = generator.make(ctx)
  const mutation = ctx.rng.chance(0.5) ? mutate(ctx.rng, frame) : 'none'
  return { frame, name: `${generator.kind}${mutation === 'none' ? '' : `+${mutation}`}` }
}

function binary(data: Uint8Array): WireMessage[] {
  return [{ data }]
}

/** Extension headers of every shape, including msgpackr's own type numbers. */
function extension(rng: Rng): { raw: Buffer; name: string } {
  const type = rng.pick([-1, 0, 1, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0x7f, -128, rng.int(-128, 127)])
  const t = type & 0xff
  switch (rng.int(0, 5)) {
    case 0:
      return { raw: Buffer.from([0xd4, t, rng.int(0, 255)]), name: `fixext1:${type}` }
    case 1:
      return { raw: Buffer.concat([Buffer.from([0xd6, t]), rng.bytes(4)]), name: `fixext4:${type}` }
    case 2:
      return { raw: Buffer.concat([Buffer.from([0xd7, 0xff]), u32(rng.int(0, 2 ** 30)), u32(rng.int(0, 2 ** 31))]), name: 'timestamp64' }
    case 3: {
      const length = rng.int(0, 40)
      return { raw: Buffer.concat([Buffer.from([0xc7, length, t]), rng.bytes(length)]), name: `ext8:${type}` }
    }
    case 4:
      return { raw: Buffer.concat([Buffer.from([0xc9]), u32(rng.pick([1, 2 ** 31, 2 ** 32 - 1])), Buffer.from([t, 0])]), name: `ext32:${type}` }
    default:
      return { raw: Buffer.concat([Buffer.from([0xd8, t]), rng.bytes(16)]), name: `fixext16:${type}` }
  }
}

/** A header declaring far more than the message holds. */
function lengthBomb(rng: Rng): { raw: Buffer; name: string } {
  const huge = rng.pick([2 ** 25, 2 ** 31, 2 ** 32 - 1, rng.int(1000, 2 ** 32 - 1)])
  switch (rng.int(0, 5)) {
    case 0:
      return { raw: Buffer.concat([Buffer.from([0xdd]), u32(huge), Buffer.alloc(rng.int(0, 8))]), name: 'array32' }
    case 1:
      return { raw: Buffer.concat([Buffer.from([0xdf]), u32(huge), Buffer.alloc(rng.int(0, 8))]), name: 'map32' }
    case 2:
      return { raw: Buffer.concat([Buffer.from([0xdb]), u32(huge), Buffer.from('abc')]), name: 'str32' }
    case 3:
      return { raw: Buffer.concat([Buffer.from([0xc6]), u32(huge), Buffer.from('abc')]), name: 'bin32' }
    case 4:
      return { raw: Buffer.from([0xdc, 0xff, 0xff, 1, 2, 3]), name: 'array16' }
    default:
      // Nested: every level declares 2^16-1 elements of which one is present.
      return { raw: Buffer.concat([...Array.from({ length: rng.int(2, 50) }, () => Buffer.from([0xdc, 0xff, 0xff])), Buffer.from([0xc0])]), name: 'array16-nested' }
  }
}

function depthBomb(rng: Rng): { raw: Buffer; name: string } {
  const levels = rng.pick([97, 98, 99, 100, 101, 500, 5000, 100_000])
  if (rng.chance(0.5)) return { raw: Buffer.concat([Buffer.alloc(levels, 0x91), Buffer.from([0xc0])]), name: `arrays:${levels}` }
  return { raw: Buffer.concat([...Array.from({ length: Math.min(levels, 20_000) }, () => Buffer.from([0x81, 0xa1, 0x61])), Buffer.from([0xc0])]), name: `maps:${Math.min(levels, 20_000)}` }
}

/** A payload that contains itself, written with msgpackr's structured-clone records (0x69/0x70). */
function cyclic(rng: Rng): unknown {
  const a: unknown[] = [1]
  a.push(a)
  if (rng.chance(0.5)) return a
  const o: Record<string, unknown> = { n: 1 }
  o.self = o
  return rng.chance(0.5) ? o : [randomValue(rng, 1), o]
}

export type CaseName =
  | 'frame' | 'extension' | 'cycle' | 'msgpackr-only' | 'bomb-length' | 'bomb-depth' | 'c1' | 'bad-key'
  | 'truncated' | 'trailing' | 'random' | 'text' | 'oversize' | 'near-limit'

export const CASE_WEIGHTS: Record<CaseName, number> = {
  frame: 50,
  extension: 6,
  cycle: 4,
  'msgpackr-only': 2,
  'bomb-length': 5,
  'bomb-depth': 3,
  c1: 1,
  'bad-key': 1,
  truncated: 6,
  trailing: 2,
  random: 6,
  text: 2,
  oversize: 0.3,
  'near-limit': 0.5,
}

/** Cases skipped, with the defect they hit (none today). */
export const OPTED_OUT_CASES: Partial<Record<CaseName, string>> = {}

export const HOSTILE_CASES: Record<CaseName, (ctx: GenContext) => FuzzCase> = {
  frame(ctx) {
    const { frame, name } = generatedFrame(ctx)
    return { name: `frame:${name}`, messages: binary(plain.pack(frame)) }
  },
  extension(ctx) {
    const { frame } = generatedFrame(ctx)
    const { raw, name } = extension(ctx.rng)
    return { name: `extension:${name}`, messages: binary(ctx.rng.chance(0.1) ? raw : packWithRaw(ctx.rng, frame, raw)) }
  },
  cycle(ctx) {
    const { rng } = ctx
    const value = cyclic(rng)
    switch (rng.int(0, 3)) {
      case 0:
        return { name: 'cycle:rpc.req', messages: binary(clone.pack(['rpc.req', rng.int(1, 1000), 'echo', value])) }
      case 1:
        return { name: 'cycle:events.emit', messages: binary(clone.pack(['events.emit', null, 'echo', value])) }
      case 2: {
        // The issue's stream variant: an open nobody handles, then data carrying the cycle.
        const id = rng.int(0, 500) * 2 + 1
        return { name: 'cycle:stream.data', messages: [...binary(plain.pack(['stream.open', id, 'nobody'])), ...binary(clone.pack(['stream.data', id, null, [0, 0, value]]))] }
      }
      default:
        return { name: 'cycle:meta', messages: binary(clone.pack(['rpc.req', rng.int(1, 1000), 'echo', 1, { loop: value }])) }
    }
  },
  'msgpackr-only'(ctx) {
    const { frame } = generatedFrame(ctx)
    while (frame.length < 4) frame.push(null)
    switch (ctx.rng.int(0, 2)) {
      case 0:
        frame[3] = { a: 1, b: [{ c: 2 }, { c: 3 }] }
        return { name: 'msgpackr-only:records', messages: binary(records.pack(frame)) }
      case 1:
        frame[3] = ['a'.repeat(40), 'b'.repeat(40)]
        return { name: 'msgpackr-only:bundled-strings', messages: binary(bundles.pack(frame)) }
      default:
        frame[3] = { at: new Date(ctx.rng.int(0, 2 ** 40)), set: new Set([1]) }
        return { name: 'msgpackr-only:date', messages: binary(defaults.pack(frame)) }
    }
  },
  'bomb-length'(ctx) {
    const { rng } = ctx
    const { raw, name } = lengthBomb(rng)
    // The issue's frame: ["rpc.req", 1, "echo", <bomb>], 24 bytes.
    if (rng.chance(0.3)) return { name: `bomb-length:${name}:rpc.req`, messages: binary(Buffer.concat([Buffer.from([0x94]), plain.pack('rpc.req'), Buffer.from([1]), plain.pack('echo'), raw])) }
    return { name: `bomb-length:${name}`, messages: binary(rng.chance(0.2) ? raw : packWithRaw(rng, generatedFrame(ctx).frame, raw)) }
  },
  'bomb-depth'(ctx) {
    const { raw, name } = depthBomb(ctx.rng)
    return { name: `bomb-depth:${name}`, messages: binary(packWithRaw(ctx.rng, generatedFrame(ctx).frame, raw)) }
  },
  c1(ctx) {
    return { name: 'c1', messages: binary(packWithRaw(ctx.rng, generatedFrame(ctx).frame, Buffer.from([0xc1]))) }
  },
  'bad-key'(ctx) {
    const key = ctx.rng.pick([Buffer.from([0x91, 0x01]), Buffer.from([0x80]), Buffer.from([0xc4, 0x01, 0x61])])
    return { name: 'bad-key', messages: binary(packWithRaw(ctx.rng, generatedFrame(ctx).frame, Buffer.concat([Buffer.from([0x81]), key, Buffer.from([0x01])]))) }
  },
  truncated(ctx) {
    const bytes = plain.pack(generatedFrame(ctx).frame)
    return { name: 'truncated', messages: binary(bytes.subarray(0, ctx.rng.int(0, Math.max(0, bytes.byteLength - 1)))) }
  },
  trailing(ctx) {
    return { name: 'trailing', messages: binary(Buffer.concat([plain.pack(generatedFrame(ctx).frame), ctx.rng.bytes(ctx.rng.int(1, 20))])) }
  },
  random(ctx) {
    const bytes = ctx.rng.bytes(ctx.rng.int(0, 300))
    if (bytes.length > 0 && ctx.rng.chance(0.5)) bytes[0] = 0x90 + ctx.rng.int(1, 5)
    return { name: 'random', messages: binary(bytes) }
  },
  text(ctx) {
    const { rng } = ctx
    switch (rng.int(0, 2)) {
      case 0:
        return { name: 'text:json', messages: [{ data: JSON.stringify(generatedFrame(ctx).frame, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? 'null' }] }
      case 1:
        return { name: 'text:msgpack-as-text', messages: [{ data: plain.pack(['rpc.req', 1, 'echo', 'x']), text: true }] }
      default:
        // Invalid UTF-8 in a text message: the WebSocket layer closes with 1007.
        return { name: 'text:invalid-utf8', messages: [{ data: Buffer.from([0x91, 0xa1, 0xff]), text: true }] }
    }
  },
  oversize(ctx) {
    return { name: 'oversize', messages: binary(plain.pack(['rpc.req', ctx.rng.int(1, 1000), 'echo', Buffer.alloc(ctx.maxPayload + ctx.rng.int(1, 50_000))])) }
  },
  'near-limit'(ctx) {
    return { name: 'near-limit', messages: binary(plain.pack(['rpc.req', ctx.rng.int(1, 1000), 'echo', Buffer.alloc(ctx.maxPayload - 64)])) }
  },
}

/** A case drawn by weight (opted-out cases excluded). */
export function drawCase(ctx: GenContext): FuzzCase {
  const weights = { ...CASE_WEIGHTS }
  for (const name of Object.keys(OPTED_OUT_CASES) as CaseName[]) weights[name] = 0
  const name = ctx.rng.weighted(weights)
  return safely(ctx.rng, name, () => HOSTILE_CASES[name](ctx))
}

/**
 * msgpackr itself cannot write some generated values (a map with 'constructor' and 'toJSON' keys
 * goes through its toJSON path): such a case is sent as random bytes instead.
 */
function safely(rng: Rng, name: string, make: () => FuzzCase): FuzzCase {
  try {
    return make()
  } catch {
    return { name: `${name}:unwritable`, messages: binary(rng.bytes(rng.int(1, 64))) }
  }
}

/** What a connection sends INSTEAD of a proper handshake: frames before hello, two hellos, bad hellos. */
export function handshakeCase(ctx: GenContext): FuzzCase {
  return safely(ctx.rng, 'handshake', () => outOfOrder(ctx))
}

function outOfOrder(ctx: GenContext): FuzzCase {
  const { rng } = ctx
  const hello = (payload: unknown) => plain.pack(['hello', null, null, payload])
  const good = { protocol: ctx.protocol, codec: 'msgpack', plugins: { ...ctx.plugins }, limits: { maxPayload: 16 * 1024 * 1024 } }
  switch (rng.int(0, 7)) {
    case 0:
      return { name: 'handshake:frame-before-hello', messages: [...drawCase(ctx).messages, { data: hello(good) }] }
    case 1:
      return { name: 'handshake:two-hellos', messages: [{ data: hello(good) }, { data: hello(good) }] }
    case 2:
      return { name: 'handshake:wrong-protocol', messages: [{ data: hello({ ...good, protocol: rng.pick([0, 1, 2, 3, 99, -1, 1.5, '2', null]) }) }] }
    case 3:
      return { name: 'handshake:wrong-codec', messages: [{ data: hello({ ...good, codec: rng.pick(['json', '', 5, null]) }) }] }
    case 4:
      return { name: 'handshake:bad-plugins', messages: [{ data: hello({ ...good, plugins: rng.pick([{ rpc: 99 }, { nope: 1 }, [], 'rpc', null, { rpc: '1' }]) }) }] }
    case 5:
      return { name: 'handshake:hello-not-a-map', messages: [{ data: hello(randomValue(rng, 2)) }] }
    case 6:
      return { name: 'handshake:rpc-before-welcome', messages: [{ data: hello(good) }, { data: plain.pack(['rpc.req', 1, 'echo', 1]) }] }
    default:
      return { name: 'handshake:welcome-from-client', messages: [{ data: plain.pack(['welcome', null, null, { sessionId: 'x', protocol: ctx.protocol, plugins: {} }]) }] }
  }
}

export { plain as plainPackr }
