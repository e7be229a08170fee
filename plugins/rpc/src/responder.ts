/**
 * The answering half: the method registry, and for each `rpc.req` from the peer — checks, the
 * handler, the reply. A handler that returns a plain value is answered synchronously, in the same
 * turn (no await, no promise); only a returned promise (or thenable) is tracked in the running
 * table, where `rpc.cancel` and a disconnect can abort its `ctx.signal`.
 */
import { type EchoError, type Frame, type JsonSchema, type Logger, type RpcHandlerOptions, type Session, type WireError } from '@echostream/kernel'
import { CallContext } from './context.js'
import { rpcErrors, RpcErrorCodes } from './errors.js'
import { echoErrorOf, logError, logTextOf, wireErrorOf } from './failure.js'
import { describe, isId, RpcFrames } from './frames.js'
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
    const params = frame.payload
    if (entry.check !== undefined) {
      const problems = entry.check(params)
      if (problems !== undefined) return sendError(session, id, rpcErrors.invalidParams(method, problems).toWire())
    }
    const metaTimeout = frame.meta === undefined ? undefined : frame.meta.timeoutMs
    const timeoutMs = typeof metaTimeout === 'number' && metaTimeout >= 0 ? metaTimeout : undefined
    const ctx = new CallContext(session, method, id, timeoutMs)
    let result: unknown
    try {
      result = entry.handler(params, ctx)
    } catch (error) {
      return this.#fail(ctx, error)
    }
    let thenable: boolean
    try {
      thenable = result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function'
    } catch (error) {
      // A Proxy whose `get` trap throws: not sendable either.
      return this.#fail(ctx, error)
    }
    if (thenable) {
      running.set(id, ctx)
      // #settle cannot reject (#fail and #reply never throw); the catch is the last line of defence.
      this.#settle(ctx, result as PromiseLike<unknown>, running).catch((error: unknown) => logError(this.#logger, `rpc: answering '${method}' failed: ${logTextOf(error)}`))
      return
    }
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
      if (running.get(ctx.id) === ctx) running.delete(ctx.id)
      if (!ctx.aborted) this.#fail(ctx, error)
      return
    }
    if (running.get(ctx.id) === ctx) running.delete(ctx.id)
    if (!ctx.aborted) this.#reply(ctx, value)
  }

  #reply(ctx: CallContext, value: unknown): void {
    try {
      ctx.session.send({ kind: RpcFrames.result, id: ctx.id, payload: value })
    } catch (error) {
      if (ctx.session.state === 'closed') return
      // Nothing was sent: the codec refused the result, it is larger than the peer accepts, or an
      // outbound tap threw. The caller gets a coded error instead; the session stays open.
      const why = logTextOf(error).split('\n', 1)[0]!
      const tooLarge = echoErrorOf(error)?.code === RpcErrorCodes.E_PAYLOAD_TOO_LARGE
      logError(this.#logger, `rpc: cannot send the result of '${ctx.method}': ${why}`)
      sendError(ctx.session, ctx.id, (tooLarge ? rpcErrors.resultTooLarge(ctx.method, why) : rpcErrors.unencodableResult(ctx.method, why)).toWire())
    }
  }

  /** Answers with what the handler threw. Never throws, whatever `error` is (see failure.ts). */
  #fail(ctx: CallContext, error: unknown): void {
    // Deliberate EchoErrors are answers; anything else is a bug the operator should see (its stack stays here).
    if (echoErrorOf(error) === undefined) logError(this.#logger, `rpc: the handler of '${ctx.method}' threw: ${logTextOf(error)}`)
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
