/**
 * Streaming RPC in the prebuilt core browser bundle (`echostream.js` of @echostream/preset-browser):
 * its scripts/build.mjs loads this module in place of streaming.ts there (nothing else does: this
 * package's `browser` field does not name it), so the streaming halves of the requester and the
 * responder — and item-queue, call-stream and producer with them — stay in `echostream-full.js`
 * (and in any app bundle of the packages). Each stand-in ends the call the way a failed streaming
 * call ends, with a coded EchoError (E_CONFIG, "use the full bundle") on both sides — a streamed
 * result, a streamed input, `rpc.stream` — and leaves nothing waiting: the peer's handler is
 * cancelled, the page's iterator closed. README "Decisions" of the preset.
 */
import type { EchoError, SchemaCheck, Session } from '@echostream/kernel'
import type { CallContext } from './context.js'
import { rpcErrors } from './errors.js'
import type { IdTable } from './id-table.js'
import { closeIterator } from './producer.js'
import type { CallerSide, HandlerSide } from './streaming.js'
import type { IdleNode, PendingCall } from './session-state.js'

const refused = rpcErrors.streamingNotInBundle

/**
 * A stream that holds nothing: reading it (and its `result`) throws `error`; what arrives is
 * dropped. What the caller gets for a streamed reply, and a handler for a streamed input.
 */
class RefusedStream {
  readonly result: Promise<never>
  readonly maxOffset = 0
  readonly #error: EchoError
  constructor(error: EchoError) {
    this.#error = error
    this.result = Promise.reject(error)
    this.result.catch(() => {})
  }
  next(): Promise<never> {
    return Promise.reject(this.#error)
  }
  return(): Promise<IteratorResult<never>> {
    return Promise.resolve({ done: true, value: undefined })
  }
  [Symbol.asyncIterator](): this {
    return this
  }
  push(): boolean {
    return true
  }
  settle(): void {}
  fail(): void {}
  end(): void {}
  cancel(): void {}
}

/** What `rpc.stream` returns when the call could not even start: its first read throws `error`. */
export function failedStream(error: EchoError): never {
  return new RefusedStream(error) as never
}

export class CallerStreams {
  readonly #side: CallerSide
  constructor(side: CallerSide) {
    this.#side = side
  }

  /** A streamed reply the page cannot read: the call is cancelled at once (the peer's handler stops), reading throws the refusal. */
  open(call: PendingCall): never {
    // After the request went out (this runs while it is being made): cancel it.
    queueMicrotask(() => this.#side.cancel(call))
    return new RefusedStream(refused()) as never
  }

  onItem(call: PendingCall): void {
    if (call.stream === undefined) call.resolve((call.stream = this.open(call)))
  }

  onEnd(call: PendingCall): void {
    this.onItem(call)
    this.#side.finish(call)
  }

  onInputCredit(): void {}

  /** A streamed input the page cannot send: the iterator is closed and the call fails with the refusal. */
  pumpInput(call: PendingCall, iterator: AsyncIterator<unknown>): void {
    queueMicrotask(() => {
      closeIterator(iterator)
      if (call.done) return
      this.#side.stop(call)
      this.#side.reject(call, refused())
    })
  }

  unidle(_node: IdleNode): void {}
  dispose(): void {}
  readonly timers = 0
}

export class HandlerStreams {
  readonly #side: HandlerSide
  constructor(side: HandlerSide) {
    this.#side = side
  }

  /** The handler's streamed params: reading them throws the refusal (which the handler then answers with). */
  input(_session: Session, _id: number, _method: string, _check: SchemaCheck | undefined): never {
    return new RefusedStream(refused()) as never
  }

  onInput(): void {}

  onCredit(): void {}

  /** A handler's streamed result: its iterator is closed and the caller gets the refusal. */
  output(ctx: CallContext, iterable: AsyncIterable<unknown>, running: IdTable<CallContext>): void {
    this.#side.done(ctx, running)
    let error: unknown = refused()
    try {
      closeIterator(iterable[Symbol.asyncIterator]())
    } catch (failure) {
      error = failure
    }
    if (!ctx.aborted) this.#side.replies.failure(ctx, error)
  }
}
