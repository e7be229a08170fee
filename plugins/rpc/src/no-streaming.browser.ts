/**
 * Streaming RPC in the prebuilt core browser bundle (`echostream.js` of @echostream/preset-browser):
 * its scripts/build.mjs loads this module in place of item-queue, call-stream and producer there
 * (nothing else does: this package's `browser` field does not name it), so their code
 * stays in `echostream-full.js` (and in any app bundle of the packages). Each stand-in ends the
 * call the way the real module ends a failed one, with a coded EchoError (E_CONFIG, "use the full
 * bundle") on both sides — a streamed result, a streamed input, `rpc.stream` — and leaves nothing
 * waiting: the peer's handler is cancelled, the page's iterator closed. README "Decisions".
 */
import { rpcErrors } from './errors.js'
import { closeIterator, type ProducerHooks } from './producer.js'
import type { ItemQueueHooks } from './item-queue.js'

export { blockedOn, canSend, closeIterator, isAsyncIterable } from './producer.js'

const noop = () => {}

const streamingRefused = rpcErrors.streamingNotInBundle

/** A queue that holds nothing: what arrives is dropped, reading it throws the refusal. */
export class ItemQueue<T = unknown> implements AsyncIterableIterator<T> {
  maxOffset: number
  readonly senderHasCredit = false
  constructor(window: number, _hooks?: ItemQueueHooks, _check?: unknown) {
    this.maxOffset = window
  }
  push(_item: unknown, _size: number): boolean {
    return true
  }
  end(): void {}
  fail(_error: unknown): void {}
  next(): Promise<IteratorResult<T>> {
    return Promise.reject(streamingRefused())
  }
  return(): Promise<IteratorResult<T>> {
    return Promise.resolve({ done: true, value: undefined })
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}

/** A streamed reply the page cannot read: the call is cancelled at once (the peer's handler stops), reading throws the refusal. */
export class CallStream<T = unknown, R = unknown> {
  readonly queue: ItemQueue<T>
  readonly result: Promise<R>
  started = false
  constructor(window: number, hooks: ItemQueueHooks, _check?: unknown) {
    this.queue = new ItemQueue<T>(window)
    this.result = Promise.reject(streamingRefused())
    this.result.catch(noop)
    // After the request went out (this runs while it is being made): cancel it.
    queueMicrotask(() => hooks.cancel())
  }
  settle(_value: R): void {}
  fail(_error: unknown): void {}
  failResult(_error: unknown): void {}
  next(): Promise<IteratorResult<T>> {
    return this.queue.next()
  }
  return(): Promise<IteratorResult<T>> {
    return this.queue.return()
  }
  cancel(): void {}
  [Symbol.asyncIterator](): this {
    return this
  }
}

/** A sender that sends nothing: the iterator is closed and the call fails with the refusal. */
export class Producer {
  sent = 0
  maxOffset: number
  #stopped = false
  readonly #iterator: AsyncIterator<unknown>
  readonly #hooks: ProducerHooks
  constructor(iterator: AsyncIterator<unknown>, initialCredit: number, hooks: ProducerHooks) {
    this.#iterator = iterator
    this.maxOffset = initialCredit
    this.#hooks = hooks
  }
  get stopped(): boolean {
    return this.#stopped
  }
  start(): void {
    queueMicrotask(() => {
      if (this.#stopped) return
      this.stop()
      this.#hooks.fail(streamingRefused())
    })
  }
  onCredit(_maxOffset: number): void {}
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    closeIterator(this.#iterator)
  }
}
