/**
 * What travels between nodes, packed with msgpackr (binary stays binary). Channel messages are
 * published by the `publish` script as `epoch:offset:body`, so the tag costs no unpack/repack.
 */
import { Packr } from 'msgpackr'
import type { Frame } from '@echostream/kernel'

// Plain MessagePack (no records, no extensions): Lua's cmsgpack writes some of these messages.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true })

export const pack = (value: unknown): Buffer => packr.pack(value)
export const unpack = (bytes: Uint8Array): unknown => packr.unpack(bytes)

/** A room event or broadcast as it crosses nodes. */
export interface ChannelMessage {
  epoch: string
  offset: number
  /** The node that published it. */
  origin: string
  /** Every room it was sent to (a member of several gets it through the first one), or null for a broadcast. */
  targets: string[] | null
  /** Session ids that must not get it. */
  except: string[] | null
  frame: Frame
  /** Dropped rather than queued for a slow or offline member (events' `volatile`). */
  volatile: boolean
}

export function packBody(origin: string, targets: readonly string[] | null, except: readonly string[] | null, frame: Frame, volatile = false): Buffer {
  return pack([origin, targets, except, frame.kind, frame.name ?? null, frame.payload ?? null, frame.meta ?? null, volatile])
}

function fromBody(epoch: string, offset: number, body: Uint8Array): ChannelMessage | undefined {
  const fields = unpack(body)
  if (!Array.isArray(fields) || typeof fields[0] !== 'string' || typeof fields[3] !== 'string') return undefined
  const frame: Frame = { kind: fields[3] }
  if (fields[4] !== null && fields[4] !== undefined) frame.name = fields[4] as string
  if (fields[5] !== null && fields[5] !== undefined) frame.payload = fields[5]
  if (fields[6] !== null && fields[6] !== undefined) frame.meta = fields[6] as Record<string, unknown>
  return { epoch, offset, origin: fields[0], targets: (fields[1] as string[] | null) ?? null, except: (fields[2] as string[] | null) ?? null, frame, volatile: fields[7] === true }
}

const COLON = 0x3a

/** Parses `epoch:offset:body` from the pub/sub channel. */
export function parseTagged(message: Buffer): ChannelMessage | undefined {
  const a = message.indexOf(COLON)
  const b = a < 0 ? -1 : message.indexOf(COLON, a + 1)
  if (b < 0) return undefined
  const offset = Number(message.toString('latin1', a + 1, b))
  if (!Number.isSafeInteger(offset)) return undefined
  try {
    return fromBody(message.toString('latin1', 0, a), offset, message.subarray(b + 1))
  } catch {
    return undefined
  }
}

/** Parses one history entry, `[id, ['b', body]]` with id `offset-0`. */
export function parseEntry(epoch: string, entry: unknown): ChannelMessage | undefined {
  if (!Array.isArray(entry) || entry.length < 2) return undefined
  const offset = Number(String(entry[0]).split('-')[0])
  const fields = entry[1] as unknown[]
  const body = Array.isArray(fields) ? fields[1] : undefined
  if (!Number.isSafeInteger(offset) || !(body instanceof Uint8Array)) return undefined
  try {
    return fromBody(epoch, offset, body)
  } catch {
    return undefined
  }
}
