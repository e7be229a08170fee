/**
 * What a caller iterates for a streaming call: `for await (const item of stream)`, plus the
 * handler's return value (`stream.result`) and `stream.cancel()`. Leaving the loop early (`break`,
 * `return`, an exception in the loop body) cancels the call: the peer's handler sees its
 * `ctx.signal` abort and its generator's `finally` runs.
 */
import type { EchoError, SchemaCheck } from '@echostream/kernel'
import { ItemQueue, type ItemQueueHooks } from './item-queue.js'
import type { RpcStream } from './types.js'

const noop = () => {}

export class CallStream<T = unknown, R = unknown> implements RpcStream<T, R> {
  readonly queue: ItemQueue<T>
  readonly result: Promise<R>
  /** True once the first frame of the reply arrived (the total/default deadline rule changes then). */
  started = false
  #resolve: (value: R) => void = noop
  #reject: (error: unknown) => void = noop

  constructor(window: number, hooks: ItemQueueHooks, check?: SchemaCheck) {
    this.queue = new ItemQueue<T>(window, hooks, check)
    this.result = new Promise<R>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // Most callers only iterate: an unobserved failed result must not become an unhandled rejection.
    this.result.catch(noop)
  }

  /** The call ended well: the loop ends after the items already here; `result` is `value`. */
  settle(value: R): void {
    this.queue.end()
    this.#resolve(value)
  }

  /** The call failed: the loop throws `error`; `result` rejects with it. */
  fail(error: EchoError | unknown): void {
    this.queue.fail(error)
    this.#reject(error)
  }

  /** Only `result` fails (the reader's loop already got the error, from an item that broke the schema). */
  failResult(error: EchoError): void {
    this.#reject(error)
  }

  next(): Promise<IteratorResult<T>> {
    return this.queue.next()
  }

  return(): Promise<IteratorResult<T>> {
    return this.queue.return()
  }

  cancel(): void {
    void this.queue.return()
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
