/**
 * What a handler receives besides its params. Most handlers never look at `ctx.signal`, so the
 * AbortController is made only when the signal is first read (an abort before that is remembered
 * and the signal comes out already aborted).
 */
import type { EchoError, RpcContext, SchemaCheck, Session } from '@echostream/kernel'
import type { ItemQueue } from './item-queue.js'
import type { Producer } from './producer.js'

export class CallContext implements RpcContext {
  readonly session: Session
  readonly method: string
  /** The request's id (per session, per direction). */
  readonly id: number
  readonly timeoutMs: number | undefined
  /** Credit (bytes) the caller granted for streamed results. */
  window: number
  /** The handler's streamed result, while it is being sent. */
  output: Producer | undefined = undefined
  /** The caller's streamed input, when the call has one (the handler's params). */
  input: ItemQueue | undefined = undefined
  /** The method's result schema, when results are checked before sending (`checkResults`). */
  resultCheck: SchemaCheck | undefined = undefined
  #controller: AbortController | undefined = undefined
  #reason: EchoError | undefined = undefined

  constructor(session: Session, method: string, id: number, timeoutMs: number | undefined, window: number) {
    this.session = session
    this.method = method
    this.id = id
    this.timeoutMs = timeoutMs
    this.window = window
  }

  /** Aborted when the caller cancels or times out (reason E_CANCELLED) or disconnects (E_CLOSED). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#reason !== undefined) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /** True once aborted: the reply, if any, is not sent. */
  get aborted(): boolean {
    return this.#reason !== undefined
  }

  /** The call is over for the caller: the signal aborts, a streamed result stops (its generator's `finally` runs), the input loop throws `reason`. */
  abort(reason: EchoError): void {
    if (this.#reason !== undefined) return
    this.#reason = reason
    this.#controller?.abort(reason)
    this.output?.stop()
    this.input?.fail(reason)
  }
}
