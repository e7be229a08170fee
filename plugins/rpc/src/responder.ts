/**
 * The answering half: for each `rpc.req` from the peer — authorisation, the method, limits, the
 * params schema, the handler, the reply (replies.ts). A handler that returns a plain value is answered synchronously, in the same
 * turn (no await, no promise); only a returned promise (or thenable) is tracked in the running
 * table, where `rpc.cancel` and a disconnect can abort its `ctx.signal`. Streamed input and
 * results are streaming.ts's (`HandlerStreams`), which a build without streaming RPC swaps alone.
 */
import { describe, isPending, type EchoError, type Frame, type Logger, type SchemaCheck, type SchemaCompiler, type SchemaResult, type Session } from '@echostream/kernel'
import { CallContext } from './context.js'
import { rpcErrors } from './errors.js'
import { logError, logTextOf, wireErrorOf } from './failure.js'
import { DEFAULT_WINDOW, isId, isOffset } from './frames.js'
import type { IdTable } from './id-table.js'
import type { ItemQueue } from './item-queue.js'
import { Methods, type MethodEntry } from './methods.js'
import { isAsyncIterable } from './producer.js'
import { Replies, sendError } from './replies.js'
import type { SessionRpc, SessionTable } from './session-state.js'
import { HandlerStreams } from './streaming.js'

/** Decides whether the peer of `session` may call `method`; returns the refusal (usually E_UNAUTHORIZED). */
export type Authorizer = (method: string, session: Session) => EchoError | undefined

export interface ResponderOptions {
  maxConcurrent: number
  exposeErrors: boolean
  /** Check results against the method's result schema before sending. */
  checkResults: boolean
  role: string
  logger: Logger
  authorize?: Authorizer
}

export class Responder {
  readonly methods: Methods
  readonly #table: SessionTable
  readonly #replies: Replies
  readonly #maxConcurrent: number
  readonly #checkResults: boolean
  readonly #exposeErrors: boolean
  readonly #role: string
  readonly #logger: Logger
  readonly #authorize: Authorizer | undefined
  readonly #streams: HandlerStreams

  constructor(table: SessionTable, compiler: SchemaCompiler, options: ResponderOptions) {
    this.#table = table
    this.methods = new Methods(compiler)
    this.#replies = new Replies(options)
    this.#maxConcurrent = options.maxConcurrent
    this.#checkResults = options.checkResults
    this.#exposeErrors = options.exposeErrors
    this.#role = options.role
    this.#logger = options.logger
    this.#authorize = options.authorize
    this.#streams = new HandlerStreams({ table, replies: this.#replies, done: (ctx, running) => this.#done(ctx, running) })
  }

  /** `rpc.req` from the peer. Throws E_PROTOCOL only when there is no id to answer (the kernel then sends an `error` frame). */
  onRequest(frame: Frame, session: Session): void {
    const id = frame.id
    if (!isId(id)) throw rpcErrors.protocol(`'rpc.req' needs an id (a non-negative integer counted by the requester), got ${describe(id)}; it cannot be answered.`)
    const method = frame.name
    if (typeof method !== 'string' || method.length === 0) {
      return sendError(session, id, rpcErrors.protocol(`'rpc.req' ${id} needs the method name in 'name', got ${describe(method)}.`).toWire())
    }
    // Authorise before looking the method up: a refused peer must not learn which methods exist.
    if (this.#authorize !== undefined) {
      let refusal: unknown
      try {
        refusal = this.#authorize(method, session)
      } catch (error) {
        // A failing authorize tap refuses (closed by default), and the operator hears about it.
        logError(this.#logger, `rpc: the authorize hook failed for '${method}': ${logTextOf(error)}`)
        refusal = error
      }
      if (refusal !== undefined) return sendError(session, id, wireErrorOf(refusal, this.#exposeErrors, method, this.#role))
    }
    const entry = this.methods.get(method)
    if (entry === undefined) return sendError(session, id, rpcErrors.notFound(method, this.#role).toWire())
    const running = this.#table.open(session).running
    if (running.has(id)) {
      return sendError(session, id, rpcErrors.protocol(`'rpc.req' id ${id} is already running on this session: use a new id for each request.`).toWire())
    }
    if (running.size >= this.#maxConcurrent) return sendError(session, id, rpcErrors.busy(method, this.#maxConcurrent, this.#role).toWire())
    const meta = frame.meta
    let timeoutMs: number | undefined
    let window = DEFAULT_WINDOW
    let input: ItemQueue | undefined
    if (meta !== undefined && meta !== null) {
      if (typeof meta.timeoutMs === 'number' && meta.timeoutMs >= 0) timeoutMs = meta.timeoutMs
      if (meta.window !== undefined) {
        if (!isOffset(meta.window) || meta.window < 1) return sendError(session, id, rpcErrors.protocol(`'rpc.req' ${id}: meta.window must be a positive integer of bytes, got ${describe(meta.window)}.`).toWire())
        window = meta.window
      }
      if (meta.input !== undefined && meta.input !== null && meta.input !== 0 && meta.input !== false) input = this.#streams.input(session, id, method, entry.params)
    }
    const ctx = new CallContext(session, method, id, timeoutMs, window)
    if (this.#checkResults) ctx.resultCheck = entry.result
    if (input !== undefined) {
      // Input frames find the call by id from now on, also while the handler runs synchronously.
      ctx.input = input
      running.set(id, ctx)
      return this.#run(ctx, entry, input, running)
    }
    if (entry.params === undefined) return this.#run(ctx, entry, frame.payload, running)
    const verdict = entry.params(frame.payload)
    if (!isPending(verdict)) return this.#checked(ctx, entry, verdict, running)
    // An async validator: the call counts as running (a cancel finds it) while it decides.
    running.set(id, ctx)
    void verdict.then((v) => {
      if (ctx.aborted) return this.#done(ctx, running)
      this.#checked(ctx, entry, v, running)
    })
  }

  #checked(ctx: CallContext, entry: MethodEntry, verdict: SchemaResult, running: IdTable<CallContext>): void {
    if (verdict.ok) return this.#run(ctx, entry, verdict.value, running)
    this.#done(ctx, running)
    sendError(ctx.session, ctx.id, rpcErrors.invalidParams(ctx.method, verdict.problems).toWire())
  }

  /** Runs the handler and answers: at once for a plain value, when it settles for a promise, item by item for an async iterable. */
  #run(ctx: CallContext, entry: MethodEntry, params: unknown, running: IdTable<CallContext>): void {
    let result: unknown
    try {
      result = entry.handler(params, ctx)
    } catch (error) {
      this.#done(ctx, running)
      return this.#replies.failure(ctx, error)
    }
    let thenable: boolean
    try {
      thenable = result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function'
    } catch (error) {
      // A Proxy whose `get` trap throws: not sendable either.
      this.#done(ctx, running)
      return this.#replies.failure(ctx, error)
    }
    if (thenable) {
      if (running.get(ctx.id) !== ctx) running.set(ctx.id, ctx)
      // #settle cannot reject (Replies never throws); the catch is the last line of defence.
      this.#settle(ctx, result as PromiseLike<unknown>, running).catch((error: unknown) => logError(this.#logger, `rpc: answering '${ctx.method}' failed: ${logTextOf(error)}`))
      return
    }
    if (isAsyncIterable(result)) return this.#streams.output(ctx, result, running)
    this.#done(ctx, running)
    this.#replies.result(ctx, result)
  }

  /** `rpc.cancel` from the peer: abort that handler's signal; its eventual result is dropped. */
  onCancel(frame: Frame, session: Session): void {
    const state = this.#table.get(session)
    const ctx = state?.running.get(frame.id as number)
    if (ctx === undefined) {
      // Already answered (the cancel crossed the reply) or never async: nothing to do.
      if (!isId(frame.id)) throw rpcErrors.protocol(`'rpc.cancel' needs the id of the request to cancel, got ${describe(frame.id)}.`)
      return
    }
    state!.running.delete(ctx.id)
    ctx.abort(rpcErrors.cancelledByCaller(ctx.method))
  }

  /** `rpc.credit`: the caller consumed some of the streamed result; the handler's generator may run on. */
  onCredit(frame: Frame, session: Session): void {
    const ctx = this.#running(frame, session)
    if (ctx === undefined) return
    if (!isOffset(frame.payload)) throw rpcErrors.protocol(`'rpc.credit' needs a credit limit (a non-negative integer of bytes), got ${describe(frame.payload)}.`)
    this.#streams.onCredit(ctx, frame.payload)
  }

  /** `rpc.in`: one item of the caller's streamed input, charged `size` bytes against the credit granted. */
  onInput(frame: Frame, session: Session, size: number): void {
    const ctx = this.#running(frame, session)
    if (ctx !== undefined) this.#streams.onInput(ctx, frame.payload, size)
  }

  /** `rpc.inend`: the caller's input is complete; the handler's input loop ends after what is buffered. */
  onInputEnd(frame: Frame, session: Session): void {
    this.#running(frame, session)?.input?.end()
  }

  /** The running call a frame refers to; undefined when it is over (late frames are ignored). */
  #running(frame: Frame, session: Session): CallContext | undefined {
    const ctx = this.#table.get(session)?.running.get(frame.id as number)
    if (ctx === undefined && !isId(frame.id)) throw rpcErrors.protocol(`'${frame.kind}' needs the id of the call it belongs to (a non-negative integer), got ${describe(frame.id)}.`)
    return ctx
  }

  /** The call is answered (or about to be): later frames for its id are ignored. */
  #done(ctx: CallContext, running: IdTable<CallContext>): void {
    if (running.get(ctx.id) === ctx) running.delete(ctx.id)
  }

  /** Aborts every handler running for `state`'s session (disconnect, stop). */
  abortAll(state: SessionRpc, reasonFor: (method: string) => EchoError): void {
    const running = [...state.running.values()]
    state.running.clear()
    for (const ctx of running) ctx.abort(reasonFor(ctx.method))
  }

  async #settle(ctx: CallContext, promise: PromiseLike<unknown>, running: IdTable<CallContext>): Promise<void> {
    let value: unknown
    try {
      value = await promise
    } catch (error) {
      this.#done(ctx, running)
      if (!ctx.aborted) this.#replies.failure(ctx, error)
      return
    }
    if (ctx.aborted) return this.#done(ctx, running)
    if (isAsyncIterable(value)) return this.#streams.output(ctx, value, running)
    this.#done(ctx, running)
    this.#replies.result(ctx, value)
  }
}
