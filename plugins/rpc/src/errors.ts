/**
 * Every error the rpc plugin makes, from one factory (STYLE rule 7). Codes are the kernel's where
 * one fits; `E_MAX_PENDING`, `E_BUSY` and `E_INVALID_ARGUMENT` are this plugin's own. Messages say
 * what happened and what to do next.
 */
import { createError, ErrorCodes, type EchoError, type CloseInfo, type ErrorCode, type WireError } from '@echostream/kernel'

export const RpcErrorCodes = {
  /** The responder has no handler for the method. */
  E_METHOD_NOT_FOUND: ErrorCodes.E_METHOD_NOT_FOUND,
  /** No reply within the call's timeout. */
  E_TIMEOUT: ErrorCodes.E_TIMEOUT,
  /** The caller's AbortSignal aborted (caller side); the caller cancelled or timed out (the handler's `ctx.signal.reason`). */
  E_CANCELLED: ErrorCodes.E_CANCELLED,
  /** The connection closed (or the kernel stopped) with the call pending, or the session was already closed. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** The method's schema rejected the params (or an item of a streamed input). */
  E_INVALID_PARAMS: ErrorCodes.E_INVALID_PARAMS,
  /** The result (or a streamed item) does not match its schema: checked by the handler's side before sending, or by the caller's `result` option. */
  E_INVALID_RESULT: 'E_INVALID_RESULT',
  /** A handler threw something that is not an EchoError. */
  E_INTERNAL: ErrorCodes.E_INTERNAL,
  /** A malformed rpc frame from the peer. */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
  /** `rpc.request` on a server, or a call on a session still handshaking / a client not started. */
  E_STATE: ErrorCodes.E_STATE,
  /** A duplicate method, an invalid method schema. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** Caller side: `maxPending` calls are already waiting on this session. */
  E_MAX_PENDING: 'E_MAX_PENDING',
  /** Responder side: `maxConcurrent` handlers of this session are already running. */
  E_BUSY: 'E_BUSY',
  /** A local call with a bad argument (method name, handler, timeoutMs, signal). */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  /** A streaming peer sent beyond the credit it was granted. */
  E_FLOW_CONTROL: ErrorCodes.E_FLOW_CONTROL,
  /** The result (or an error with its data) is larger than the peer accepts (its handshake `maxPayload`). */
  E_PAYLOAD_TOO_LARGE: ErrorCodes.E_PAYLOAD_TOO_LARGE,
} as const

export type RpcErrorCode = (typeof RpcErrorCodes)[keyof typeof RpcErrorCodes]

const C = RpcErrorCodes

/** A peer-chosen method name, cut short before it is echoed back in a message. */
function clip(method: string): string {
  return method.length <= 200 ? method : `${method.slice(0, 200)}…`
}

function closeText(info: CloseInfo | undefined): string {
  if (!info) return ''
  return ` (${info.code}${info.reason ? `: ${info.reason}` : ''})`
}

/** The one factory: each entry builds one error, named by what happened. */
export const rpcErrors = {
  invalidArgument: (message: string): EchoError => createError(C.E_INVALID_ARGUMENT, message),

  notFound: (method: string, role: string): EchoError => {
    const name = clip(method)
    return createError(C.E_METHOD_NOT_FOUND, `No handler for '${name}' on the ${role}: register it there with rpc.handle('${name}', handler) or a defineRpc module, or check the method name.`, { data: { method: name } })
  },

  timeout: (method: string, timeoutMs: number): EchoError =>
    createError(C.E_TIMEOUT, `'${method}' got no reply within ${timeoutMs} ms: pass a larger timeoutMs to the call (or raise options.rpc.defaultTimeoutMs), or check that the handler resolves.`, {
      retryable: true,
      data: { method, timeoutMs },
    }),

  idleTimeout: (method: string, idleTimeoutMs: number): EchoError =>
    createError(C.E_TIMEOUT, `The stream of '${method}' sent nothing for ${idleTimeoutMs} ms while it had credit: pass a larger idleTimeoutMs to the call (or raise options.rpc.idleTimeoutMs), or have the handler yield more often.`, {
      retryable: true,
      data: { method, idleTimeoutMs },
    }),

  flowControl: (method: string, maxOffset: number): EchoError =>
    createError(C.E_FLOW_CONTROL, `The peer sent stream items of '${method}' beyond the credit it was granted (${maxOffset} bytes): the call was cancelled. The peer's rpc implementation must respect rpc.credit / rpc.incredit.`, { data: { method, maxOffset } }),

  inputFailed: (method: string, what: string, cause: unknown): EchoError =>
    createError(C.E_CANCELLED, `The input of '${method}' failed (${what}): the call was cancelled and the handler's signal aborted.`, { cause, data: { method } }),

  cancelled: (method: string, reason: unknown): EchoError =>
    createError(C.E_CANCELLED, `'${method}' was cancelled by its AbortSignal before a reply arrived.`, { cause: reason, data: { method } }),

  /** The reason a handler's `ctx.signal` aborts with when the caller cancelled or timed out. */
  cancelledByCaller: (method: string): EchoError =>
    createError(C.E_CANCELLED, `The caller cancelled '${method}' (its AbortSignal aborted or its timeout expired): stop the work; no reply will be read.`, { data: { method } }),

  connectionClosed: (method: string, info: CloseInfo | undefined): EchoError =>
    createError(C.E_CLOSED, `'${method}' failed: the connection closed${closeText(info)} before a reply arrived. Retry once connected again, if the method is safe to repeat.`, {
      retryable: true,
      data: { method },
    }),

  /** The reason a handler's `ctx.signal` aborts with when the caller's connection went away. */
  callerGone: (method: string, info: CloseInfo | undefined): EchoError =>
    createError(C.E_CLOSED, `The caller of '${method}' disconnected${closeText(info)}: stop the work; the reply cannot be delivered.`, { data: { method } }),

  stopping: (method: string, role: string, why: string): EchoError =>
    createError(C.E_CLOSED, `'${method}' failed: the ${role} ${why} before a reply arrived.`, { retryable: true, data: { method } }),

  /** The reason a handler's `ctx.signal` aborts with when this side stops. */
  handlerStopped: (method: string, role: string, why: string): EchoError =>
    createError(C.E_CLOSED, `The ${role} ${why}: stop the work of '${method}'; the reply cannot be delivered.`, { data: { method } }),

  sessionClosed: (method: string, sessionId: string): EchoError =>
    createError(C.E_CLOSED, `Cannot call '${method}': session ${sessionId || '(unnamed)'} is closed. Call again on a new connection.`, { retryable: true, data: { method } }),

  notStarted: (method: string): EchoError =>
    createError(C.E_STATE, `Cannot call '${method}': the client is not connected. Await client.start() before calling rpc.request.`),

  handshaking: (method: string): EchoError =>
    createError(C.E_STATE, `Cannot call '${method}' on a session whose handshake has not finished: call it once the session is open (from a handler, or after the connect hook).`),

  serverRequest: (method: string): EchoError =>
    createError(
      C.E_STATE,
      `rpc.request('${method}') is for clients; a server has many sessions: call session.request('${method}', params) on one client's session (ctx.session in a handler, or server.sessions()).`,
    ),

  maxPending: (method: string, limit: number): EchoError =>
    createError(C.E_MAX_PENDING, `Cannot call '${method}': ${limit} calls already wait for replies on this session (options.rpc.maxPending). Await some before sending more, or raise maxPending.`, {
      retryable: true,
      data: { method, maxPending: limit },
    }),

  busy: (method: string, limit: number, role: string): EchoError =>
    createError(C.E_BUSY, `The ${role} is already running ${limit} calls from this session (its options.rpc.maxConcurrent): retry '${method}' after some complete.`, {
      retryable: true,
      data: { method, maxConcurrent: limit },
    }),

  invalidParams: (method: string, problems: string[]): EchoError =>
    createError(C.E_INVALID_PARAMS, `Invalid params for '${method}': ${problems.join('; ')}. Send params that match the method's schema.`, { data: { method, problems } }),

  /** `side`: 'handler' (checked before sending) or 'caller' (the call's `result` schema). */
  invalidResult: (method: string, problems: string[], side: 'handler' | 'caller'): EchoError =>
    createError(
      C.E_INVALID_RESULT,
      side === 'handler'
        ? `The handler of '${method}' produced a result that breaks its result schema: ${problems.join('; ')}. Fix the handler (or its schema); the invalid value was not sent.`
        : `The result of '${method}' does not match the schema this call expects: ${problems.join('; ')}. The peer's handler and this caller disagree on the contract.`,
      { data: { method, problems } },
    ),

  /** What a caller sees for a plain Error when `exposeErrors` is off. */
  hiddenInternal: (method: string, role: string): WireError => ({ code: C.E_INTERNAL, message: `The handler of '${method}' failed on the ${role}; the details are in the ${role}'s log.` }),

  unencodableResult: (method: string, why: string): EchoError =>
    createError(C.E_INTERNAL, `The handler of '${method}' returned a value the codec cannot encode (${why}): return plain data (objects, arrays, strings, numbers, booleans, null, binary).`),

  /** The result (or an item) is larger than the peer's maxPayload: the caller gets this instead; the session stays open. */
  resultTooLarge: (method: string, why: string): EchoError =>
    createError(C.E_PAYLOAD_TOO_LARGE, `The result of '${method}' is too large to send (${why}): return less data per call, or stream it (return an async iterable).`, { data: { method } }),

  protocol: (message: string): EchoError => createError(C.E_PROTOCOL, message),

  duplicateMethod: (method: string): EchoError =>
    createError(C.E_CONFIG, `'${method}' already has a handler: call the function that rpc.handle returned to remove it first, or use another method name.`),

  badSchema: (method: string, which: string, why: string, cause: unknown): EchoError =>
    createError(C.E_CONFIG, `The ${which} schema of '${method}' is unusable: ${why}. Pass a JSON Schema object or a Standard Schema validator (zod, valibot, arktype) to rpc.handle/defineRpc.`, { cause }),

  /** The prebuilt core browser bundle has no streaming RPC (no-streaming.browser.ts). */
  streamingNotInBundle: (): EchoError =>
    createError(C.E_CONFIG, 'Streaming RPC (rpc.stream, an async iterable as params or as a result) is not in echostream.js: load echostream-full.js, or bundle @echostream/preset-browser with your bundler.'),
} satisfies Record<string, (...args: never[]) => EchoError | WireError>

export type { ErrorCode }
