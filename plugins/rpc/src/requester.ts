/**
 * The calling half: allocates ids, keeps the pending table, and settles each call exactly once —
 * by its reply, its timeout, its AbortSignal, or the connection closing. A streaming reply
 * (`rpc.item`… `rpc.end`) settles into a CallStream the caller iterates; streamed input (params
 * that are an async iterable) is pulled by a Producer within the responder's credit — both in
 * streaming.ts (`CallerStreams`), which a build without streaming RPC swaps alone.
 * Hot path (unary calls): one PendingCall object and one promise per call; no closure and no timer
 * per call (the promise executor and abort listener are shared, timeouts go through `Deadlines`).
 */
import { describe, EchoError, isPending, type Frame, type SchemaCheck, type SchemaCompiler, type SchemaResult, type Session } from '@echostream/kernel'
import type { CallStream } from './call-stream.js'
import { RpcErrorCodes, rpcErrors } from './errors.js'
import { textOf } from './failure.js'
import { DEFAULT_WINDOW, isId, isOffset, MAX_ID, RpcFrames } from './frames.js'
import { Deadlines } from './deadlines.js'
import { MAX_TIMEOUT_MS } from './options.js'
import { canSend, isAsyncIterable } from './producer.js'
import { PendingCall, type SessionRpc, type SessionTable } from './session-state.js'
import { CallerStreams, failedStream } from './streaming.js'
import type { RequestOptions, RpcStream } from './types.js'

export { failedStream }

// Promise executors run synchronously, so one shared executor can hand the resolvers to the call being made.
let capturing: PendingCall | undefined
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturing!.resolve = resolve
  capturing!.reject = reject
}

export interface RequesterOptions {
  defaultTimeoutMs: number
  maxPending: number
  idleTimeoutMs: number
  windowBytes: number
  compiler: SchemaCompiler
}

export class Requester {
  readonly #table: SessionTable
  readonly #options: RequesterOptions
  readonly #deadlines: Deadlines<PendingCall>
  readonly #streams: CallerStreams

  constructor(table: SessionTable, options: RequesterOptions) {
    this.#deadlines = new Deadlines(this.#onTimeout)
    this.#streams = new CallerStreams({
      finish: (call) => this.#finish(call),
      stop: (call) => {
        this.#finish(call)
        sendCancel(call)
      },
      reject: (call, error) => this.#reject(call, error),
      cancel: (call) => this.cancel(call),
    })
    this.#table = table
    this.#options = options
  }

  /** Sends `rpc.req` on `session` and resolves with the reply's result (a stream, when the handler streams). Never throws. */
  request(session: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
    return this.#call(session, method, params, options, false) as Promise<unknown>
  }

  /** As `request`, returning the reply as a stream at once (a unary reply ends it with no items; `result` holds it). */
  stream(session: Session, method: string, params?: unknown, options?: RequestOptions): RpcStream {
    return this.#call(session, method, params, options, true) as CallStream
  }

  #call(session: Session, method: string, params: unknown, options: RequestOptions | undefined, wantStream: boolean): Promise<unknown> | CallStream {
    // (A module function, not a closure: this runs for every call.)
    const early = wantStream ? failedStream : rejected
    if (typeof method !== 'string' || method.length === 0) {
      return early(rpcErrors.invalidArgument(`request(method, params, options): method must be a non-empty string, got ${describe(method)}.`))
    }
    let timeoutMs = this.#options.defaultTimeoutMs
    let explicitTimeout = false
    let idleTimeoutMs = this.#options.idleTimeoutMs
    let window = this.#options.windowBytes
    let signal: AbortSignal | undefined
    let resultCheck: SchemaCheck | undefined
    if (options !== undefined && options !== null) {
      if (options.result !== undefined) {
        try {
          resultCheck = this.#options.compiler.compile(options.result, 'result')
        } catch (error) {
          return early(rpcErrors.invalidArgument(`request('${method}'): the result option must be a JSON Schema or a Standard Schema validator: ${EchoError.from(error).message}.`))
        }
      }
      const t = options.timeoutMs
      if (t !== undefined) {
        if (!isTimeout(t)) return early(rpcErrors.invalidArgument(`request('${method}'): timeoutMs must be a number of milliseconds from 0 (no timeout) to ${MAX_TIMEOUT_MS}, got ${describe(t)}.`))
        timeoutMs = t
        explicitTimeout = true
      }
      if (options.idleTimeoutMs !== undefined) {
        if (!isTimeout(options.idleTimeoutMs)) return early(rpcErrors.invalidArgument(`request('${method}'): idleTimeoutMs must be a number of milliseconds from 0 (none) to ${MAX_TIMEOUT_MS}, got ${describe(options.idleTimeoutMs)}.`))
        idleTimeoutMs = options.idleTimeoutMs
      }
      if (options.windowBytes !== undefined) {
        if (!Number.isSafeInteger(options.windowBytes) || options.windowBytes < 1) return early(rpcErrors.invalidArgument(`request('${method}'): windowBytes must be a positive integer, got ${describe(options.windowBytes)}.`))
        window = options.windowBytes
      }
      signal = options.signal
      if (signal !== undefined) {
        if (signal === null || typeof signal.addEventListener !== 'function') {
          return early(rpcErrors.invalidArgument(`request('${method}'): signal must be an AbortSignal, got ${describe(signal)}.`))
        }
        if (signal.aborted) return early(rpcErrors.cancelled(method, signal.reason))
      }
    }
    const sessionState = session.state
    // A `suspended` session (reconnect plugin) records the frame and sends it after the reconnect.
    if (sessionState !== 'open' && sessionState !== 'suspended') {
      return early(sessionState === 'closed' ? rpcErrors.sessionClosed(method, session.id) : rpcErrors.handshaking(method))
    }
    let input: AsyncIterator<unknown> | undefined
    if (isAsyncIterable(params)) {
      try {
        input = params[Symbol.asyncIterator]()
      } catch (error) {
        return early(rpcErrors.inputFailed(method, textOf(error), error))
      }
    }
    const state = this.#table.open(session)
    const pending = state.pending
    if (pending.size >= this.#options.maxPending) return early(rpcErrors.maxPending(method, this.#options.maxPending))

    const id = nextId(state)
    const call = new PendingCall(this, state, session, id, method, timeoutMs)
    call.window = window
    call.idleTimeoutMs = idleTimeoutMs
    call.explicitTimeout = explicitTimeout
    call.resultCheck = resultCheck
    if (sessionState === 'suspended') call.written = false
    let promise: Promise<unknown> | CallStream
    if (!wantStream) {
      capturing = call
      promise = new Promise<unknown>(capture)
      capturing = undefined
    } else promise = call.stream = this.#streams.open(call)
    pending.set(id, call)
    let meta: Record<string, unknown> | undefined
    if (explicitTimeout && timeoutMs > 0) meta = { timeoutMs }
    if (window !== DEFAULT_WINDOW) (meta ??= {}).window = window
    if (input !== undefined) (meta ??= {}).input = 1
    try {
      session.send(
        meta === undefined
          ? { kind: RpcFrames.request, id, name: method, payload: params }
          : { kind: RpcFrames.request, id, name: method, payload: input === undefined ? params : undefined, meta },
      )
    } catch (error) {
      // E_CLOSED (closed meanwhile), E_CODEC (params the codec cannot encode), E_PAYLOAD_TOO_LARGE: nothing was sent.
      this.#finish(call)
      this.#reject(call, (EchoError.is(error) ? error : rpcErrors.inputFailed(method, textOf(error), error)))
      return promise
    }
    if (call.done) return promise // an outbound tap closed the session while sending
    if (timeoutMs > 0) this.#deadlines.add(call, timeoutMs)
    if (signal !== undefined) {
      call.signal = signal
      signal.addEventListener('abort', call)
    }
    if (input !== undefined) this.#streams.pumpInput(call, input)
    return promise
  }

  /** `rpc.res` from the peer. A reply to an id not waiting (late, after a timeout or cancel) is ignored. */
  onResult(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#finish(call)
    const check = call.resultCheck
    if (check === undefined) return this.#resolve(call, frame.payload)
    const result = check(frame.payload)
    if (isPending(result)) void result.then((r) => this.#verdict(call, r))
    else this.#verdict(call, result)
  }

  /** The call's own `result` schema judged a unary result. */
  #verdict(call: PendingCall, result: SchemaResult): void {
    if (result.ok) this.#resolve(call, result.value)
    else this.#reject(call, rpcErrors.invalidResult(call.method, result.problems, 'caller'))
  }

  #resolve(call: PendingCall, value: unknown): void {
    if (call.stream !== undefined) call.stream.settle(value)
    else call.resolve(value)
  }

  /** `rpc.err` from the peer: the call rejects with the peer's code, message and data. */
  onError(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#finish(call)
    const error = EchoError.fromWire(frame.payload)
    // Only code, message and data cross; E_BUSY is retryable by definition, so say so here.
    this.#reject(call, error.code === RpcErrorCodes.E_BUSY ? new EchoError(error.code, error.message, { data: error.data, retryable: true }) : error)
  }

  /** `rpc.item`: one item of a streaming reply, charged `size` bytes against the credit this side granted. */
  onItem(frame: Frame, session: Session, size: number): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#streams.onItem(call, frame.payload, size)
  }

  /** `rpc.end`: the streaming reply is complete; `payload` is the handler's return value. */
  onEnd(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    this.#streams.onEnd(call, frame.payload)
  }

  /** `rpc.incredit`: the responder may take more of our streamed input. */
  onInputCredit(frame: Frame, session: Session): void {
    const call = this.#table.get(session)?.pending.get(frame.id as number)
    if (call === undefined) return checkReplyId(frame)
    if (!isOffset(frame.payload)) throw rpcErrors.protocol(`'rpc.incredit' needs a credit limit (a non-negative integer of bytes), got ${describe(frame.payload)}.`)
    this.#streams.onInputCredit(call, frame.payload)
  }

  /** The peer answered our `rpc.req` with a kernel `error` frame (e.g. it has no rpc plugin). */
  onRefused(error: EchoError, id: number | undefined, session: Session): void {
    if (id === undefined) return
    const call = this.#table.get(session)?.pending.get(id)
    if (call === undefined) return
    this.#finish(call)
    this.#reject(call, error)
  }

  /** The caller's signal aborted (or it left its `for await` loop): reject, and tell the peer so its handler's signal aborts too. */
  cancel(call: PendingCall): void {
    if (call.done) return
    this.#finish(call)
    sendCancel(call)
    this.#reject(call, rpcErrors.cancelled(call.method, call.signal?.reason))
  }

  readonly #onTimeout = (call: PendingCall): void => {
    if (call.done) return
    this.#finish(call)
    sendCancel(call)
    this.#reject(call, rpcErrors.timeout(call.method, call.timeoutMs))
  }

  /**
   * Rejects the calls waiting on `state` (connection closed, kernel stopping) — or, with
   * `writtenOnly`, only those whose request was written to the lost connection, keeping the ones
   * queued while suspended for the session that continues (reconnect, not recovered).
   */
  failAll(state: SessionRpc, errorFor: (method: string) => EchoError, writtenOnly = false): void {
    const calls = [...state.pending.values()].filter((call) => !writtenOnly || call.written)
    for (const call of calls) this.#finish(call)
    for (const call of calls) this.#reject(call, errorFor(call.method))
  }

  /** Stops the timeout timers (after failAll on every session: kernel stopping, plugin unloaded). */
  dispose(): void {
    this.#deadlines.clear()
    this.#streams.dispose()
  }

  /** Timeout timers armed (one per distinct timeout in use). */
  get timers(): number {
    return this.#deadlines.timers + this.#streams.timers
  }

  #reject(call: PendingCall, error: EchoError): void {
    if (call.stream !== undefined) call.stream.fail(error)
    else call.reject(error)
  }

  #finish(call: PendingCall): void {
    call.done = true
    call.state.pending.delete(call.id)
    if (call.list !== undefined) call.list.unlink(call)
    if (call.signal !== undefined) call.signal.removeEventListener('abort', call)
    if (call.idle !== undefined) this.#streams.unidle(call.idle)
    if (call.input !== undefined) call.input.stop()
  }
}

function rejected(error: EchoError): Promise<never> {
  return Promise.reject(error)
}

function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_TIMEOUT_MS
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
  if (!canSend(call.session)) return
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
