/**
 * The calling half: allocates ids, keeps the pending table (a Map keyed by id), and settles each
 * call exactly once — by its reply, its timeout, its AbortSignal, or the connection closing.
 * Hot path: one PendingCall object and one promise per call; no closure and no timer per call
 * (the promise executor and abort listener are shared, timeouts go through `Deadlines`).
 */
import { EchoError, ErrorCodes, type Frame, type Session } from '@echostream/kernel'
import { RpcErrorCodes, rpcErrors } from './errors.js'
import { describe, isId, MAX_ID, RpcFrames } from './frames.js'
import { Deadlines } from './deadlines.js'
import { MAX_TIMEOUT_MS } from './options.js'
import { PendingCall, type SessionRpc, type SessionTable } from './session-state.js'
import type { RequestOptions } from './types.js'

// Promise executors run synchronously, so one shared executor can hand the resolvers to the call being made.
let capturing: PendingCall | undefined
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturing!.resolve = resolve
  capturing!.reject = reject
}

export interface RequesterOptions {
  defaultTimeoutMs: number
  maxPending: number
}

export class Requester {
  readonly #table: SessionTable
  readonly #defaultTimeoutMs: number
  readonly #maxPending: number
  readonly #deadlines: Deadlines<PendingCall>

  constructor(table: SessionTable, options: RequesterOptions) {
    this.#deadlines = new Deadlines(this.#onTimeout)
    this.#table = table
    this.#defaultTimeoutMs = options.defaultTimeoutMs
    this.#maxPending = options.maxPending
  }

  /** Sends `rpc.req` on `session` and resolves with the reply's result. Never throws: every problem is a rejection. */
  request(session: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(rpcErrors.invalidArgument(`request(method, params, options): method must be a non-empty string, got ${describe(method)}.`))
    }
    let timeoutMs = this.#defaultTimeoutMs
    let explicitTimeout = false
    let signal: AbortSignal | undefined
    if (options !== undefined && options !== null) {
      const t = options.timeoutMs
      if (t !== undefined) {
        if (typeof t !== 'number' || !(t >= 0 && t <= MAX_TIMEOUT_MS)) {
          return Promise.reject(rpcErrors.invalidArgument(`request('${method}'): timeoutMs must be a number of milliseconds from 0 (no timeout) to ${MAX_TIMEOUT_MS}, got ${describe(t)}.`))
        }
        timeoutMs = t
        explicitTimeout = true
      }
      signal = options.signal
      if (signal !== undefined) {
        if (signal === null || typeof signal.addEventListener !== 'function') {
          return Promise.reject(rpcErrors.invalidArgument(`request('${method}'): signal must be an AbortSignal, got ${describe(signal)}.`))
        }
        if (signal.aborted) return Promise.reject(rpcErrors.cancelled(method, signal.reason))
      }
    }
    const sessionState = session.state
    // A `suspended` session (reconnect plugin) records the frame and sends it after the reconnect.
    if (sessionState !== 'open' && sessionState !== 'suspended') {
      return Promise.reject(sessionState === 'closed' ? rpcErrors.sessionClosed(method, session.id) : rpcErrors.handshaking(method))
    }
    const state = this.#table.open(session)
    const pending = state.pending
    if (pending.size >= this.#maxPending) return Promise.reject(rpcErrors.maxPending(method, this.#maxPending))

    const id = nextId(state)
    const call = new PendingCall(this, state, session, id, method, timeoutMs)
    if (sessionState === 'suspended') call.written = false
    capturing = call
    const promise = new Promise<unknown>(capture)
    capturing = undefined
    pending.set(id, call)
    try {
      session.send(
        explicitTimeout && timeoutMs > 0
          ? { kind: RpcFrames.request, id, name: method, payload: params, meta: { timeoutMs } }
          : { kind: RpcFrames.request, id, name: method, payload: params },
      )
    } catch (error) {
      // E_CLOSED (closed meanwhile) or E_CODEC (params the codec cannot encode): nothing was sent.
      this.#finish(call)
      call.reject(EchoError.from(error, ErrorCodes.E_INTERNAL))
      return promise
    }
    if (call.done) return promise // an outbound tap closed the session while sending
    if (timeoutMs > 0) this.#deadlines.add(call, timeoutMs)
    if (signal !== undefined) {
      call.signal = signal
      signal.addEventListener('abort', call)
    }
    return promise
  }

  /** `rpc.res` from the peer. A reply to an id not waiting (late, after a timeout or cancel) is ignored. */
  onResult(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#finish(call)
    call.resolve(frame.payload)
  }

  /** `rpc.err` from the peer: the call rejects with the peer's code, message and data. */
  onError(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#finish(call)
    const error = EchoError.fromWire(frame.payload)
    // Only code, message and data cross; E_BUSY is retryable by definition, so say so here.
    call.reject(error.code === RpcErrorCodes.E_BUSY ? new EchoError(error.code, error.message, { data: error.data, retryable: true }) : error)
  }

  /** The peer answered our `rpc.req` with a kernel `error` frame (e.g. it has no rpc plugin). */
  onRefused(error: EchoError, id: number | undefined, session: Session): void {
    if (id === undefined) return
    const call = this.#table.get(session)?.pending.get(id)
    if (call === undefined) return
    this.#finish(call)
    call.reject(error)
  }

  /** The caller's signal aborted: reject, and tell the peer so its handler's signal aborts too. */
  cancel(call: PendingCall): void {
    if (call.done) return
    this.#finish(call)
    sendCancel(call)
    call.reject(rpcErrors.cancelled(call.method, call.signal?.reason))
  }

  readonly #onTimeout = (call: PendingCall): void => {
    if (call.done) return
    this.#finish(call)
    sendCancel(call)
    call.reject(rpcErrors.timeout(call.method, call.timeoutMs))
  }

  /**
   * Rejects the calls waiting on `state` (connection closed, kernel stopping) — or, with
   * `writtenOnly`, only those whose request was written to the lost connection, keeping the ones
   * queued while suspended for the session that continues (reconnect, not recovered).
   */
  failAll(state: SessionRpc, errorFor: (method: string) => EchoError, writtenOnly = false): void {
    const calls = [...state.pending.values()].filter((call) => !writtenOnly || call.written)
    for (const call of calls) this.#finish(call)
    for (const call of calls) call.reject(errorFor(call.method))
  }

  /** Stops the timeout timers (after failAll on every session: kernel stopping, plugin unloaded). */
  dispose(): void {
    this.#deadlines.clear()
  }

  /** Timeout timers armed (one per distinct timeout in use). */
  get timers(): number {
    return this.#deadlines.timers
  }

  #finish(call: PendingCall): void {
    call.done = true
    call.state.pending.delete(call.id)
    if (call.list !== undefined) call.list.unlink(call)
    if (call.signal !== undefined) call.signal.removeEventListener('abort', call)
  }
}

function nextId(state: SessionRpc): number {
  let id = ++state.nextId
  if (id > MAX_ID) {
    state.wrapped = true
    id = state.nextId = 1
  }
  if (state.wrapped) {
    while (state.pending.has(id)) id = state.nextId = id >= MAX_ID ? 1 : id + 1
  }
  return id
}

function sendCancel(call: PendingCall): void {
  // While suspended the cancel is queued with the request it follows.
  if (call.session.state !== 'open' && call.session.state !== 'suspended') return
  try {
    call.session.send({ kind: RpcFrames.cancel, id: call.id })
  } catch {
    // closing: the peer's handler is aborted by the disconnect instead
  }
}

/** A reply that matches no waiting call: fine when late; a protocol error when it has no usable id. */
function checkReplyId(frame: Frame): void {
  if (!isId(frame.id)) throw rpcErrors.protocol(`'${frame.kind}' needs the id of the request it answers (a non-negative integer), got ${describe(frame.id)}.`)
}
