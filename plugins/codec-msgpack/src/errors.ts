/**
 * Every error the msgpack codec makes, from one table (STYLE rule 7, the kernel's defineErrors):
 * throw sites pass only arguments. Decode failures are returned as results, never thrown; encode
 * failures are thrown to the kernel, which fails the send. Messages say what to do next.
 */
import { defineErrors, ErrorCodes, messageOf, type Frame } from '@echostream/kernel'
import { Fault, type Scanner } from './scan.js'

export const CodecErrorCodes = {
  /** Bytes that are not plain, bounded MessagePack (decode), or a value the protocol does not carry (encode). */
  E_CODEC: ErrorCodes.E_CODEC,
  /** MessagePack that is not a frame array, or a frame field of the wrong type. */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
} as const

const C = CodecErrorCodes

const DECODE_HINT = 'Send one plain MessagePack value per message, as the msgpack codec writes it (PROTOCOL.md); is the peer using the msgpack codec?'
const PLAIN_DATA = 'objects, arrays, strings, numbers, booleans, null, binary'

function scanMessage(scanner: Scanner): string {
  const at = scanner.offset
  switch (scanner.fault) {
    case Fault.empty:
      return 'the message is empty'
    case Fault.truncated:
      return `the message ends inside a value (byte ${at})`
    case Fault.trailing:
      return `${scanner.detail} bytes follow the value (from byte ${at}); a message holds exactly one`
    case Fault.neverUsed:
      return `byte 0xc1 at ${at} is never used in MessagePack`
    case Fault.tooLong: {
      const unit = scanner.what === 'map' ? 'entries' : scanner.what === 'array' ? 'elements' : 'bytes'
      return `the ${scanner.what} at byte ${at} declares ${scanner.detail} ${unit}, more than the message holds`
    }
    case Fault.badKey:
      return `the map key at byte ${at} is a container or binary; keys must be strings (or numbers, booleans, nil)`
    default:
      return `unexpected fault ${scanner.fault} at byte ${at}`
  }
}

/** A thrown value's message for an error text (kernel's messageOf: never throws), clipped. */
export function reasonOf(error: unknown): string {
  const message = messageOf(error)
  if (error instanceof RangeError && /call stack/i.test(message)) return 'the value is nested too deeply, or changed while it was read'
  return message.length > 200 ? `${message.slice(0, 200)}…` : message
}

/** `frame.kind`, unless reading it throws. */
export function kindOf(frame: Frame): unknown {
  try {
    return frame.kind
  } catch {
    return undefined
  }
}

/** `a 'rpc.res' frame`, for messages; never throws. */
export function frameLabel(kind: unknown): string {
  return typeof kind === 'string' && kind.length > 0 ? `a '${kind.length > 60 ? `${kind.slice(0, 60)}…` : kind}' frame` : 'the frame'
}

/** The one table: each entry builds one error, named by what happened. Encode paths read `payload.a[3] of a 'rpc.res' frame`. */
export const codecErrors = defineErrors({
  /** Bytes that are not one plain, bounded MessagePack value (from the scanner's fault). */
  malformed: {
    code: C.E_CODEC,
    message: (scanner: Scanner) => {
      if (scanner.fault === Fault.extension) {
        const type = scanner.detail === 256 ? '(cut off)' : String(scanner.detail)
        return `Cannot decode the message: it holds a MessagePack extension (type ${type}) at byte ${scanner.offset}. The protocol carries plain MessagePack only — no timestamps, no msgpackr records, bundled strings or structured-clone references: send dates as strings and binary as bin.`
      }
      if (scanner.fault === Fault.tooDeep) {
        return `Cannot decode the message: arrays/maps nest deeper than ${scanner.maxDepth} levels (byte ${scanner.offset}; the frame array is level 1). Send flatter data, or raise the msgpack codec's maxDepth option on both sides.`
      }
      return `Cannot decode the message as MessagePack: ${scanMessage(scanner)}. ${DECODE_HINT}`
    },
    data: (scanner: Scanner) =>
      scanner.fault === Fault.extension
        ? { offset: scanner.offset, extension: scanner.detail }
        : scanner.fault === Fault.tooDeep
          ? { offset: scanner.offset, maxDepth: scanner.maxDepth }
          : { offset: scanner.offset },
  },

  /** msgpackr failed on bytes the scanner accepted (not expected; kept so decode can never throw). */
  decodeFailed: {
    code: C.E_CODEC,
    message: (reason: string) => `Cannot decode the message as MessagePack (${reason}). ${DECODE_HINT}`,
  },

  notAFrame: {
    code: C.E_PROTOCOL,
    message: (why: string) => `Not an echostream frame: ${why}. A frame is a MessagePack array [kind, id, name, payload, meta] (PROTOCOL.md).`,
  },

  /** A Symbol, a function, a Map, a class instance without toJSON… somewhere in a frame. */
  notCarried: {
    code: C.E_CODEC,
    message: (what: string, path: string) =>
      `Cannot encode ${what} at ${path}: the protocol carries plain data only (${PLAIN_DATA}). Convert it first — e.g. String(value), Object.fromEntries(map), [...set], error.message — or give its class a toJSON() method.`,
    data: (_what: string, path: string) => ({ path }),
  },

  /** Deeper than maxDepth — which is also how a value that contains itself shows. */
  tooDeep: {
    code: C.E_CODEC,
    message: (maxDepth: number, path: string) =>
      `Cannot encode the value at ${path}: it nests deeper than ${maxDepth} levels (the frame array is level 1), or it contains itself (a cycle). Send a tree of plain data — break the cycle or flatten it — or raise the msgpack codec's maxDepth option on both sides.`,
    data: (maxDepth: number, path: string) => ({ path, maxDepth }),
  },

  bigintRange: {
    code: C.E_CODEC,
    message: (path: string) => `Cannot encode the BigInt at ${path}: it is beyond the 64-bit range of MessagePack integers. Send it as a string (value.toString()).`,
    data: (path: string) => ({ path }),
  },

  tooManyValues: {
    code: C.E_CODEC,
    message: (limit: number, frame: string) =>
      `Cannot encode ${frame}: it holds more than ${limit} values (a huge or sparse array, or sub-objects shared many times). Send large numeric data as binary (a typed array), or split it across frames.`,
    data: (limit: number, _frame: string) => ({ limit }),
  },

  /** A getter, Proxy trap or toJSON threw while the value was read, or msgpackr failed. */
  encodeFailed: {
    code: C.E_CODEC,
    message: (reason: string, frame: string) => `Cannot encode ${frame}: ${reason}. Send plain data (${PLAIN_DATA}).`,
  },
})
