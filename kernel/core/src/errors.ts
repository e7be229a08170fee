/**
 * One error class for the whole framework, with stable string codes (as Fastify's `createError`).
 * Errors cross package copies and the wire, so identity is a registered symbol brand, not the class.
 */
import { describe } from './describe.js'

const BRAND = Symbol.for('echostream.error')

export const ErrorCodes = {
  /** A config file or an option is wrong: fix the config. */
  E_CONFIG: 'E_CONFIG',
  /** A plugin cannot be loaded, ordered or unloaded. */
  E_PLUGIN: 'E_PLUGIN',
  /** The peer broke the wire protocol (bad frame, unknown kind, frame before handshake). */
  E_PROTOCOL: 'E_PROTOCOL',
  /** Bytes could not be decoded, or a value could not be encoded. */
  E_CODEC: 'E_CODEC',
  /** Client and server cannot talk: protocol version, codec or wire plugins differ. */
  E_INCOMPATIBLE: 'E_INCOMPATIBLE',
  /** The connection closed (or was never open) while the operation needed it. */
  E_CLOSED: 'E_CLOSED',
  /** No reply in time. */
  E_TIMEOUT: 'E_TIMEOUT',
  /** The caller cancelled. */
  E_CANCELLED: 'E_CANCELLED',
  /** The other side has no handler for this RPC method. */
  E_METHOD_NOT_FOUND: 'E_METHOD_NOT_FOUND',
  /** RPC params were rejected by the method's schema. */
  E_INVALID_PARAMS: 'E_INVALID_PARAMS',
  /** A remote handler failed without a code of its own. */
  E_INTERNAL: 'E_INTERNAL',
  /** Authentication or authorisation refused. */
  E_UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** A message is larger than the configured maximum. */
  E_PAYLOAD_TOO_LARGE: 'E_PAYLOAD_TOO_LARGE',
  /** A stream peer exceeded its flow-control credit. */
  E_FLOW_CONTROL: 'E_FLOW_CONTROL',
  /** The operation is not valid in the kernel's current state (e.g. request before start). */
  E_STATE: 'E_STATE',
  /** A local call with a bad argument (never sent to the peer). */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | (string & {})

export interface EchoErrorOptions {
  cause?: unknown
  /** Extra, serialisable detail that may cross the wire. */
  data?: unknown
  /** True when trying the same operation again may succeed. */
  retryable?: boolean
}

/** The serialisable shape of an error on the wire (see PROTOCOL.md). */
export interface WireError {
  code: string
  message: string
  data?: unknown
  /** Present (true) when trying again may succeed. */
  retryable?: boolean
}

export class EchoError extends Error {
  readonly code: ErrorCode
  readonly data?: unknown
  readonly retryable: boolean
  declare readonly [BRAND]: true

  constructor(code: ErrorCode, message: string, options: EchoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EchoError'
    this.code = code
    if (options.data !== undefined) this.data = options.data
    this.retryable = options.retryable ?? false
    Object.defineProperty(this, BRAND, { value: true })
  }

  /** True for any EchoError, including one made by another copy of this package. */
  static is(value: unknown): value is EchoError {
    if (typeof value !== 'object' || value === null) return false
    try {
      return (value as Record<symbol, unknown>)[BRAND] === true
    } catch {
      return false // a Proxy whose `get` trap throws
    }
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return EchoError.is(value)
  }

  /** What may cross the wire: code, message and data; never the stack. */
  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message }
    if (this.data !== undefined) wire.data = this.data
    if (this.retryable) wire.retryable = true
    return wire
  }

  static fromWire(value: unknown): EchoError {
    if (typeof value === 'object' && value !== null) {
      const { code, message, data, retryable } = value as Partial<WireError>
      if (typeof code === 'string' && typeof message === 'string') {
        return new EchoError(code, message, { data, retryable: retryable === true })
      }
    }
    return new EchoError(ErrorCodes.E_PROTOCOL, 'The peer sent an error frame without a code and message.')
  }

  /**
   * Wraps anything thrown into an EchoError; never throws, whatever the value (a Proxy whose traps
   * throw, an Error whose `message` getter throws, a null-prototype object, a cycle…). A plain
   * Error becomes `fallbackCode` with its message; any other value, `fallbackCode` with its
   * description.
   */
  static from(value: unknown, fallbackCode: ErrorCode = ErrorCodes.E_INTERNAL): EchoError {
    if (EchoError.is(value)) return value
    let isError = false
    try {
      isError = value instanceof Error
    } catch {
      // a Proxy whose getPrototypeOf trap throws: not an Error
    }
    let message: string | undefined
    if (isError) {
      try {
        const own = (value as Error).message
        if (typeof own === 'string' && own) message = own
      } catch {
        // a message getter that throws: describe() says so
      }
    }
    message ??= isError ? describe(value) : `a non-Error value was thrown: ${describe(value)}`
    return new EchoError(typeof fallbackCode === 'string' ? fallbackCode : ErrorCodes.E_INTERNAL, message, { cause: value })
  }
}

/** The per-package error factory: `createError('E_X', 'what happened; what to do')`. */
export function createError(code: ErrorCode, message: string, options?: EchoErrorOptions): EchoError {
  return new EchoError(code, message, options)
}

/** One entry of an error table: a stable code and a message builder that says what to do. */
export interface ErrorSpec<A extends unknown[] = never[]> {
  code: ErrorCode
  message: (...args: A) => string
  /** True when trying the same operation again may succeed. */
  retryable?: boolean
  /** Serialisable detail that may cross the wire. */
  data?: (...args: NoInfer<A>) => unknown
}

type Factories<T> = { readonly [K in keyof T]: T[K] extends ErrorSpec<infer A> ? (...args: A) => EchoError : never }

/**
 * A package's error table (the shape of `rpcErrors`): each entry names what happened and builds
 * its EchoError. The built functions never throw: a message builder that throws (on an odd value
 * it was given) yields the code with a generic message instead.
 *
 * ```ts
 * export const myErrors = defineErrors({
 *   tooBig: { code: 'E_PAYLOAD_TOO_LARGE', message: (size: number, max: number) => `${size} bytes, over ${max}: send less.` },
 * })
 * throw myErrors.tooBig(5, 4)
 * ```
 */
export function defineErrors<T extends Record<string, ErrorSpec<any>>>(table: T): Factories<T> {
  const out: Record<string, (...args: unknown[]) => EchoError> = {}
  for (const [name, spec] of Object.entries(table)) {
    out[name] = (...args: unknown[]) => {
      let message: string
      let data: unknown
      try {
        message = spec.message(...(args as never[]))
        data = spec.data?.(...(args as never[]))
      } catch (error) {
        message = `${spec.code} (${name}); its message could not be built: ${describe(error)}`
      }
      return new EchoError(spec.code, message, { data, retryable: spec.retryable === true })
    }
  }
  return Object.freeze(out) as unknown as Factories<T>
}

/** The message of anything thrown, for a log line or a wrapping error; never throws. */
export function messageOf(value: unknown): string {
  return EchoError.from(value).message
}
