/**
 * The receiving end of a streamed call: items the peer sent, waiting for the application's
 * `for await`. Credit works as streams' (and QUIC's MAX_STREAM_DATA): the receiver grants an
 * absolute byte limit; the sender sends only while what it sent is below it. Each item costs the
 * byte length of the whole message that carried it (wire contract 7), so both ends count the same.
 *
 * The receiver raises the limit to `consumed + window` once half the window has been consumed by
 * the application, so what waits here (or in flight) is at most one window plus one item — a
 * reader that stalls stalls the sender, it never grows this side's memory.
 */
import { isPending, type EchoError, type SchemaCheck, type SchemaResult } from '@echostream/kernel'

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void
  reject(error: unknown): void
}

export interface ItemQueueHooks {
  /** Send the peer a new credit limit (absolute bytes). */
  credit(maxOffset: number): void
  /** The application stopped reading early (`break`, `return()`): cancel the call. */
  cancel(): void
  /** An item broke the queue's schema: end the call; returns the error the reader gets. */
  invalid?(problems: string[]): EchoError
}

/** Items kept before the consumed prefix of the array is dropped (amortised O(1) shift). */
const COMPACT_AT = 1024

export class ItemQueue<T = unknown> implements AsyncIterableIterator<T> {
  readonly window: number
  /** The credit limit granted to the sender (bytes of messages). */
  maxOffset: number
  /** Bytes of every item received / handed to the application. */
  received = 0
  consumed = 0
  #items: T[] = []
  #sizes: number[] = []
  #head = 0
  #waiters: Array<Waiter<T>> = []
  #done = false
  #error: unknown = undefined
  #failed = false
  #hooks: ItemQueueHooks
  /** Each item is checked when the application reads it (so an async validator keeps the order). */
  #check: SchemaCheck | undefined

  constructor(window: number, hooks: ItemQueueHooks, check?: SchemaCheck) {
    this.window = window
    this.maxOffset = window
    this.#hooks = hooks
    this.#check = check
  }

  /** Items waiting for the application. */
  get length(): number {
    return this.#items.length - this.#head
  }

  /** Bytes waiting for the application. */
  get buffered(): number {
    return this.received - this.consumed
  }

  /** True while the sender has credit left (it could be sending): an idle timer is fair only then. */
  get senderHasCredit(): boolean {
    return this.received < this.maxOffset
  }

  get finished(): boolean {
    return this.#done
  }

  /**
   * An item of `size` bytes arrived. False when the sender had no credit for it (it sent while
   * `received >= maxOffset`): a flow-control violation the caller answers by failing the call.
   */
  push(item: T, size: number): boolean {
    if (this.#done) return true // late, after the application stopped reading: dropped
    if (this.received >= this.maxOffset) return false
    this.received += size
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      this.#consume(size)
      this.#deliver(item).then(waiter.resolve, waiter.reject)
      return true
    }
    this.#items.push(item)
    this.#sizes.push(size)
    return true
  }

  /** The sender finished: the application reads what is left, then the loop ends. */
  end(): void {
    if (this.#done) return
    this.#done = true
    if (this.length === 0) this.#flushWaiters()
  }

  /**
   * The call failed: the application reads the items that arrived before, then its next read
   * throws `error` (as a generator that yielded them and then threw).
   */
  fail(error: EchoError | unknown): void {
    if (this.#done) return
    this.#done = true
    this.#failed = true
    this.#error = error
    if (this.length === 0) this.#flushWaiters()
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const item = this.#items[this.#head] as T
      const size = this.#sizes[this.#head]!
      this.#items[this.#head] = undefined as T
      this.#head++
      if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) this.#compact()
      this.#consume(size)
      if (this.length === 0 && this.#done) this.#flushWaiters()
      return this.#deliver(item)
    }
    if (this.#done) return this.#failed ? this.#rejectOnce() : Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** The application stopped reading (`break` in `for await`): the call is cancelled unless it already ended. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      this.#done = true
      this.#drop()
      this.#flushWaiters()
      this.#hooks.cancel()
    } else this.#drop()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  /** The item as the application gets it: checked against the schema, when there is one. */
  #deliver(item: T): Promise<IteratorResult<T>> {
    const check = this.#check
    if (check === undefined) return Promise.resolve({ value: item, done: false })
    const result = check(item)
    return isPending(result) ? result.then((r) => this.#verdict(r)) : this.#verdict(result)
  }

  #verdict(result: SchemaResult): Promise<IteratorResult<T>> {
    if (result.ok) return Promise.resolve({ value: result.value as T, done: false })
    // The call is over: what is buffered is dropped, later reads see the end.
    const error = this.#hooks.invalid!(result.problems)
    this.#done = true
    this.#failed = false
    this.#drop()
    this.#flushWaiters()
    return Promise.reject(error)
  }

  #consume(size: number): void {
    this.consumed += size
    // Grant more once half the window is used: one credit frame per half window, not per item.
    if (!this.#done && this.maxOffset - this.consumed <= this.window / 2) {
      this.maxOffset = this.consumed + this.window
      this.#hooks.credit(this.maxOffset)
    }
  }

  #rejectOnce(): Promise<IteratorResult<T>> {
    // The error is reported once; later reads see a finished iterator, as a generator that threw.
    const error = this.#error
    this.#failed = false
    this.#error = undefined
    return Promise.reject(error)
  }

  #flushWaiters(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (let i = 0; i < waiters.length; i++) {
      if (this.#failed && i === 0) {
        const error = this.#error
        this.#failed = false
        this.#error = undefined
        waiters[i]!.reject(error)
      } else waiters[i]!.resolve({ value: undefined, done: true })
    }
  }

  #drop(): void {
    this.#items = []
    this.#sizes = []
    this.#head = 0
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head)
    this.#sizes = this.#sizes.slice(this.#head)
    this.#head = 0
  }
}
