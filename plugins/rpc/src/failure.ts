/**
 * What a handler threw, turned into what crosses the wire and what the log says — by code that
 * cannot throw itself. A handler may throw anything: `Object.create(null)`, a Proxy whose traps
 * throw (so `instanceof`, `EchoError.is` and property reads throw), an Error whose `message`
 * getter throws, a revoked Proxy. Before this module, such a value made the error path throw in
 * turn: an async handler's rejection became an unhandled rejection (process exit) and its caller
 * never got an answer (issue 10, item 3).
 */
import { EchoError, type Logger, type WireError } from '@echostream/kernel'
import { RpcErrorCodes, rpcErrors } from './errors.js'
import { describe } from './frames.js'

/** Longest message of a plain Error that crosses the wire: a result error must never itself be oversize. */
const MAX_MESSAGE = 2000

function clipMessage(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}…`
}

/** `error` when it is an EchoError (false for anything whose inspection throws). */
export function echoErrorOf(error: unknown): EchoError | undefined {
  try {
    return EchoError.is(error) ? error : undefined
  } catch {
    return undefined
  }
}

/** A short description of any value; never throws. */
export function describeSafely(value: unknown): string {
  try {
    return describe(value)
  } catch {
    return 'a value that cannot be inspected'
  }
}

/** A plain Error's message (or a thrown string), when it can be read; undefined otherwise. */
function readableMessage(error: unknown): string | undefined {
  try {
    if (typeof error === 'string') return error
    if (error instanceof Error) {
      const message: unknown = error.message
      return typeof message === 'string' ? message : undefined
    }
  } catch {
    // a getter or a trap threw: no readable message
  }
  return undefined
}

/**
 * The wire form of what a handler threw: an EchoError keeps its code, message and data; anything
 * else is `E_INTERNAL` with its message (or a generic one when `expose` is off). Never a stack,
 * never throws.
 */
export function wireErrorOf(error: unknown, expose: boolean, method: string, role: string): WireError {
  const echo = echoErrorOf(error)
  if (echo !== undefined) {
    try {
      const wire = echo.toWire()
      if (typeof wire.code === 'string' && typeof wire.message === 'string') return wire
    } catch {
      // an EchoError made by a foreign copy, tampered with: fall through to E_INTERNAL
    }
  }
  if (!expose) return rpcErrors.hiddenInternal(method, role)
  const message = readableMessage(error)
  if (message !== undefined) return { code: RpcErrorCodes.E_INTERNAL, message: message ? clipMessage(message) : `The handler of '${method}' failed without a message.` }
  if (isErrorLike(error)) return rpcErrors.unreadableThrow(method, describeSafely(error))
  return { code: RpcErrorCodes.E_INTERNAL, message: `The handler of '${method}' threw a non-Error value (${describeSafely(error)}): throw an Error or an EchoError.` }
}

function isErrorLike(error: unknown): boolean {
  try {
    return error instanceof Error
  } catch {
    return true
  }
}

/** A thrown value in words: its message when it has a readable one, else a description. Never throws. */
export function textOf(error: unknown): string {
  const message = readableMessage(error)
  return message !== undefined && message !== '' ? clipMessage(message) : describeSafely(error)
}

/** What the log says about a thrown value: its stack when it can be read, else a description. */
export function logTextOf(error: unknown): string {
  try {
    if (error instanceof Error) {
      const stack: unknown = error.stack
      if (typeof stack === 'string' && stack) return stack
    }
  } catch {
    // fall through
  }
  const message = readableMessage(error)
  return message !== undefined ? message : describeSafely(error)
}

/** Logs without ever throwing: a failing logger must not turn an answered error into a crash. */
export function logError(logger: Logger, text: string): void {
  try {
    logger.error(text)
  } catch {
    // nowhere left to report it
  }
}
