/**
 * The answering half: the method registry, and for each `rpc.req` from the peer — checks, the
 * handler, the reply. A handler that returns a plain value is answered synchronously, in the same
 * turn (no await, no promise); only a returned promise (or thenable) is tracked in the running
 * table, where `rpc.cancel` and a disconnect can abort its `ctx.signal`.
 */
import { describe, EchoError, type Frame, type JsonSchema, type Logger, type RpcHandlerOptions, type Session, type WireError } from '@echostream/kernel'
import { CallContext } from './context.js'
import { rpcErrors, RpcErrorCodes } from './errors.js'
import { logError, logTextOf, wireErrorOf } from './failure.js'
import { DEFAULT_WINDOW, isId, isOffset, RpcFrames } from './frames.js'
import { ItemQueue } from './item-queue.js'
import { blockedOn, canSend, isAsyncIterable, Producer } from './producer.js'
import type { ParamsCheck, ParamsValidator } from './params-schema.js'
import type { SessionRpc, SessionTable } from './session-state.js'
import type { IdTable } from './id-table.js'
import type { Unregister } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (params: any, ctx: CallContext) => unknown

interface MethodEntry {
  readonly handler: AnyHandler
  readonly check: ParamsCheck | undefined
}

/** Decides whether the peer of `session` may call `method`; returns the refusal (usually E_UNAUTHORIZED). */
export type Authorizer = (method: string, session: Session) => EchoError | undefined

export interface ResponderOptions {
  maxConcurrent: number
  exposeErrors: boolean
  role: string
  logger: Logger
  authorize?: Authorizer
}

export class Responder {
  readonly #methods = new Map<string, MethodEntry>()
  readonly #table: SessionTable
  readonly #validator: ParamsValidator
  readonly #maxConcurrent: number
  readonly #exposeErrors: boolean
  readonly #role: string
  readonly #logger: Logger
  readonly #authorize: Authorizer | undefined

  constructor(table: SessionTable, validator: ParamsValidator, options: ResponderOptions) {
    this.#table = table
    this.#validator = validator
    this.#maxConcurrent = options.maxConcurrent
    this.#exposeErrors = options.exposeErrors
    this.#role = options.role
    this.#logger = options.logger
    this.#authorize = options.authorize
  }

  /** Registers `handler` for `method`; arguments are checked at run time too (plain JS callers, handler modules). */
  handle(method: string, handler: AnyHandler, options?: RpcHandlerOptions): Unregister {
    if (typeof method !== 'string' || method.length === 0) {
      throw rpcErrors.invalidArgument(`rpc.handle(method, handler): method must be a non-empty string, got ${describe(method)}.`)
    }
    if (typeof handler !== 'function') throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler): handler must be a function, got ${describe(handler)}.`)
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler, options): options must be an object like { schema }, got ${describe(options)}.`)
    }
    if (this.#methods.has(method)) throw rpcErrors.duplicateMethod(method)
    const schema = options?.schema as JsonSchema | undefined
    if (schema !== undefined && (typeof schema !== 'object' || schema === null)) {
      throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler, { schema }): schema must be a JSON schema object, got ${describe(schema)}.`)
    }
    const entry: MethodEntry = { handler, check: schema === undefined ? undefined : this.#validator.compile(method, schema) }
    this.#methods.set(method, entry)
    return () => {
      if (this.#methods.get(method) === entry) this.#methods.delete(method)
    }
  }

  methods(): string[] {
    return [...this.#methods.keys()]
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
    const entry = this.#methods.get(method)
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
      if (meta.input !== undefined && meta.input !== null && meta.input !== 0 && meta.input !== false) input = this.#inputQueue(session, id)
    }
    const params = input ?? frame.payload
    if (input === undefined && entry.check !== undefined) {
      const problems = entry.check(params)
      if (problems !== undefined) return sendError(session, id, rpcErrors.invalidParams(method, problems).toWire())
    }
    const ctx = new CallContext(session, method, id, timeoutMs, window)
    if (input !== undefined) {
      // Input frames find the call by id from now on, also while the handler runs synchronously.
      ctx.input = input
      running.set(id, ctx)
    }
    let result: unknown
    try {
      result = entry.handler(params, ctx)
    } catch (error) {
      this.#done(ctx, running)
      return this.#fail(ctx, error)
    }
    let thenable: boolean
    try {
      thenable = result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function'
    } catch (error) {
      // A Proxy whose `get` trap throws: not sendable either.
      this.#done(ctx, running)
      return this.#fail(ctx, error)
    }
    if (thenable) {
      if (input === undefined) running.set(id, ctx)
      // #settle cannot reject (#fail and #reply never throw); the catch is the last line of defence.
      this.#settle(ctx, result as PromiseLike<unknown>, running).catch((error: unknown) => logError(this.#logger, `rpc: answering '${method}' failed: ${logTextOf(error)}`))
      return
    }
    if (isAsyncIterable(result)) return this.#stream(ctx, result, running)
    this.#done(ctx, running)
    this.#reply(ctx, result)
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
    ctx.output?.onCredit(frame.payload)
  }

  /** `rpc.in`: one item of the caller's streamed input, charged `size` bytes against the credit granted. */
  onInput(frame: Frame, session: Session, size: number): void {
    const ctx = this.#running(frame, session)
    if (ctx === undefined) return
    const input = ctx.input
    if (input === undefined) throw rpcErrors.protocol(`'rpc.in' for call ${ctx.id}, which has no streamed input (its rpc.req had no meta.input).`)
    if (!input.push(frame.payload, size)) {
      this.#table.get(session)?.running.delete(ctx.id)
      const error = rpcErrors.flowControl(ctx.method, input.maxOffset)
      ctx.abort(error)
      sendError(session, ctx.id, error.toWire())
    }
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

  #inputQueue(session: Session, id: number): ItemQueue {
    return new ItemQueue(DEFAULT_WINDOW, {
      credit: (maxOffset) => {
        if (!canSend(session)) return
        try {
          session.send({ kind: RpcFrames.inputCredit, id, payload: maxOffset })
        } catch {
          // closing: the call ends with the session
        }
      },
      // The handler stopped reading its input: what still arrives is dropped, no more credit is granted.
      cancel: () => {},
    })
  }

  /** The handler returned an async iterable: send its items within the caller's credit, then `rpc.end`. */
  #stream(ctx: CallContext, iterable: AsyncIterable<unknown>, running: IdTable<CallContext>): void {
    let iterator: AsyncIterator<unknown>
    try {
      iterator = iterable[Symbol.asyncIterator]()
    } catch (error) {
      this.#done(ctx, running)
      return this.#fail(ctx, error)
    }
    if (running.get(ctx.id) !== ctx) running.set(ctx.id, ctx)
    const { session, id } = ctx
    const state = this.#table.open(session)
    const producer = new Producer(iterator, ctx.window, {
      blocked: () => blockedOn(session, () => state.whenResumed()),
      // Charged what the kernel wrote: the encoded length of the message (wire contract 7).
      send: (item) => session.send({ kind: RpcFrames.item, id, payload: item }),
      end: (value) => {
        this.#done(ctx, running)
        if (!ctx.aborted) this.#reply(ctx, value, RpcFrames.end)
      },
      fail: (error) => {
        this.#done(ctx, running)
        if (!ctx.aborted) this.#fail(ctx, error)
      },
    })
    ctx.output = producer
    producer.start()
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
      if (!ctx.aborted) this.#fail(ctx, error)
      return
    }
    if (ctx.aborted) return this.#done(ctx, running)
    if (isAsyncIterable(value)) return this.#stream(ctx, value, running)
    this.#done(ctx, running)
    this.#reply(ctx, value)
  }

  #reply(ctx: CallContext, value: unknown, kind: string = RpcFrames.result): void {
    try {
      ctx.session.send({ kind, id: ctx.id, payload: value })
    } catch (error) {
      if (ctx.session.state === 'closed') return
      // Nothing was sent: the codec refused the result, it is larger than the peer accepts, or an
      // outbound tap threw. The caller gets a coded error instead; the session stays open.
      const why = logTextOf(error).split('\n', 1)[0]!
      const tooLarge = EchoError.is(error) && error.code === RpcErrorCodes.E_PAYLOAD_TOO_LARGE
      logError(this.#logger, `rpc: cannot send the result of '${ctx.method}': ${why}`)
      sendError(ctx.session, ctx.id, (tooLarge ? rpcErrors.resultTooLarge(ctx.method, why) : rpcErrors.unencodableResult(ctx.method, why)).toWire())
    }
  }

  /** Answers with what the handler threw. Never throws, whatever `error` is (see failure.ts). */
  #fail(ctx: CallContext, error: unknown): void {
    // Deliberate EchoErrors are answers; anything else is a bug the operator should see (its stack stays here).
    if (!EchoError.is(error)) logError(this.#logger, `rpc: the handler of '${ctx.method}' threw: ${logTextOf(error)}`)
    sendError(ctx.session, ctx.id, wireErrorOf(error, this.#exposeErrors, ctx.method, this.#role))
  }
}

/** Sends `rpc.err`; when that fails (data the codec refuses, too large), the code and message alone, then a bare E_INTERNAL. */
function sendError(session: Session, id: number, wire: WireError): void {
  const attempts: WireError[] = [
    wire,
    { code: wire.code, message: wire.message.length > 500 ? `${wire.message.slice(0, 500)}…` : wire.message },
    { code: RpcErrorCodes.E_INTERNAL, message: 'The handler failed and its error could not be sent.' },
  ]
  for (const payload of attempts) {
    if (session.state === 'closed') return
    try {
      session.send({ kind: RpcFrames.error, id, payload })
      return
    } catch {
      // try a smaller answer
    }
  }
}
