/**
 * One error class for the whole framework, with stable string codes (as Fastify's `createError`).
 * Errors cross package copies and the wire, so identity is a registered symbol brand, not the class.
 */
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
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
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

  /** Wraps anything thrown into an EchoError; a plain Error becomes E_INTERNAL with its message. */
  static from(value: unknown, fallbackCode: ErrorCode = ErrorCodes.E_INTERNAL): EchoError {
    if (EchoError.is(value)) return value
    if (value instanceof Error) return new EchoError(fallbackCode, value.message, { cause: value })
    return new EchoError(fallbackCode, String(value), { cause: value })
  }
}

/** The per-package error factory: `createError('E_X', 'what happened; what to do')`. */
export function createError(code: ErrorCode, message: string, options?: EchoErrorOptions): EchoError {
  return new EchoError(code, message, options)
}
