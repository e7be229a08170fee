/**
 * What a handler threw, turned into what crosses the wire and what the log says — by code that
 * cannot throw itself. A handler may throw anything: `Object.create(null)`, a Proxy whose traps
 * throw (so `instanceof` and property reads throw), an Error whose `message` getter throws, a
 * revoked Proxy. Before this module, such a value made the error path throw in turn: an async
 * handler's rejection became an unhandled rejection (process exit) and its caller never got an
 * answer (issue 10, item 3). The kernel's `describe` and `EchoError.from` never throw; this adds
 * what the rpc plugin needs on top (clipping, the log line).
 */
import { EchoError, type LogFields, type Logger, type WireError } from '@echostream/kernel'
import { RpcErrorCodes, rpcErrors } from './errors.js'

/** Longest message of a plain Error that crosses the wire: a result error must never itself be oversize. */
const MAX_MESSAGE = 2000

function clipMessage(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}…`
}

/** A thrown value in words: a thrown string as it is, an Error's message, else a description. Never throws. */
export function textOf(error: unknown): string {
  if (typeof error === 'string') return clipMessage(error)
  return clipMessage(EchoError.from(error).message)
}

/**
 * The wire form of what a handler threw: an EchoError keeps its code, message and data; anything
 * else is `E_INTERNAL` with its message (or a generic one when `expose` is off). Never a stack,
 * never throws.
 */
export function wireErrorOf(error: unknown, expose: boolean, method: string, role: string): WireError {
  if (EchoError.is(error)) {
    try {
      const wire = error.toWire()
      if (typeof wire.code === 'string' && typeof wire.message === 'string') return wire
    } catch {
      // an EchoError made by a foreign copy, tampered with: fall through to E_INTERNAL
    }
  }
  if (!expose) return rpcErrors.hiddenInternal(method, role)
  const message = textOf(error)
  return { code: RpcErrorCodes.E_INTERNAL, message: message || `The handler of '${method}' failed without a message.` }
}

/** What the log says about a thrown value: its stack when it can be read, else its message or description. */
export function logTextOf(error: unknown): string {
  try {
    if (error instanceof Error) {
      const stack: unknown = error.stack
      if (typeof stack === 'string' && stack) return stack
    }
  } catch {
    // a getter or a trap threw: fall through
  }
  return textOf(error)
}

/** Logs without ever throwing: a failing logger must not turn an answered error into a crash. */
export function logError(logger: Logger, text: string, fields?: LogFields): void {
  try {
    if (fields === undefined) logger.error(text)
    else logger.error(text, fields)
  } catch {
    // nowhere left to report it
  }
}
