/**
 * What a handler receives besides its params. Most handlers never look at `ctx.signal`, so the
 * AbortController is made only when the signal is first read (an abort before that is remembered
 * and the signal comes out already aborted).
 */
import type { EchoError, RpcContext, Session } from '@echostream/kernel'

export class CallContext implements RpcContext {
  readonly session: Session
  readonly method: string
  /** The request's id (per session, per direction). */
  readonly id: number
  readonly timeoutMs: number | undefined
  #controller: AbortController | undefined = undefined
  #reason: EchoError | undefined = undefined

  constructor(session: Session, method: string, id: number, timeoutMs: number | undefined) {
    this.session = session
    this.method = method
    this.id = id
    this.timeoutMs = timeoutMs
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

  abort(reason: EchoError): void {
    if (this.#reason !== undefined) return
    this.#reason = reason
    this.#controller?.abort(reason)
  }
}
