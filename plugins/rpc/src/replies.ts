/**
 * How the responder answers: a result (`rpc.res`, or `rpc.end` after a stream), checked against
 * the method's result schema when `checkResults` is on, or an error (`rpc.err`). Nothing here
 * throws, whatever the handler returned or threw: a caller always gets an answer (issue 10, item 3).
 */
import { EchoError, isPending, type KernelLogger, type Logger, type SchemaCheck, type SchemaResult, type Session, type WireError } from '@echostream/kernel'
import type { CallContext } from './context.js'
import { RpcErrorCodes, rpcErrors } from './errors.js'
import { logError, logTextOf, wireErrorOf } from './failure.js'
import { RpcFrames } from './frames.js'

export interface RepliesOptions {
  exposeErrors: boolean
  role: string
  logger: Logger
}

export class Replies {
  readonly #options: RepliesOptions

  constructor(options: RepliesOptions) {
    this.#options = options
  }

  /** Sends `value` as the call's result (`kind`: `rpc.res`, or `rpc.end` for a stream's return value). */
  result(ctx: CallContext, value: unknown, kind: string = RpcFrames.result): void {
    const check = kind === RpcFrames.result ? ctx.resultCheck : undefined
    if (check === undefined) return this.#send(ctx, value, kind)
    const verdict = check(value)
    if (isPending(verdict)) void verdict.then((r) => this.#checked(ctx, r, kind))
    else this.#checked(ctx, verdict, kind)
  }

  /**
   * A streamed item as it may be sent: its checked value, or a promise of it (an async validator);
   * throws E_INVALID_RESULT when it breaks the result schema (the producer then fails the call).
   */
  item(ctx: CallContext, item: unknown): unknown {
    const check = ctx.resultCheck
    if (check === undefined) return item
    const verdict = check(item)
    return isPending(verdict) ? verdict.then((r) => this.#itemValue(ctx, r)) : this.#itemValue(ctx, verdict)
  }

  /** Answers with what the handler threw. Never throws, whatever `error` is (see failure.ts). */
  failure(ctx: CallContext, error: unknown): void {
    // Deliberate EchoErrors are answers; anything else is a bug the operator should see (its stack stays here).
    if (!EchoError.is(error)) {
      // The session's logger (its lines carry `session` and `peer`) when the kernel's is passed.
      const logger = this.#options.logger
      const log = 'forSession' in logger && typeof logger.forSession === 'function' ? (logger as KernelLogger).forSession(ctx.session) : logger
      logError(log, `rpc: the handler of '${ctx.method}' threw: ${logTextOf(error)}`, { method: ctx.method })
    }
    sendError(ctx.session, ctx.id, wireErrorOf(error, this.#options.exposeErrors, ctx.method, this.#options.role))
  }

  #itemValue(ctx: CallContext, verdict: SchemaResult): unknown {
    if (verdict.ok) return verdict.value
    throw this.#invalid(ctx, verdict.problems)
  }

  #checked(ctx: CallContext, verdict: SchemaResult, kind: string): void {
    if (ctx.aborted) return
    if (verdict.ok) this.#send(ctx, verdict.value, kind)
    else sendError(ctx.session, ctx.id, this.#invalid(ctx, verdict.problems).toWire())
  }

  #invalid(ctx: CallContext, problems: string[]): EchoError {
    const error = rpcErrors.invalidResult(ctx.method, problems, 'handler')
    logError(this.#options.logger, `rpc: ${error.message}`)
    return error
  }

  #send(ctx: CallContext, value: unknown, kind: string): void {
    try {
      ctx.session.send({ kind, id: ctx.id, payload: value })
    } catch (error) {
      if (ctx.session.state === 'closed') return
      // Nothing was sent: the codec refused the result, it is larger than the peer accepts, or an
      // outbound tap threw. The caller gets a coded error instead; the session stays open.
      const why = logTextOf(error).split('\n', 1)[0]!
      const tooLarge = EchoError.is(error) && error.code === RpcErrorCodes.E_PAYLOAD_TOO_LARGE
      logError(this.#options.logger, `rpc: cannot send the result of '${ctx.method}': ${why}`)
      sendError(ctx.session, ctx.id, (tooLarge ? rpcErrors.resultTooLarge(ctx.method, why) : rpcErrors.unencodableResult(ctx.method, why)).toWire())
    }
  }
}

/** Sends `rpc.err`; when that fails (data the codec refuses, too large), the code and message alone, then a bare E_INTERNAL. */
export function sendError(session: Session, id: number, wire: WireError): void {
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

export type { SchemaCheck }
