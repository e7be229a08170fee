/**
 * The sending end of a streamed call: pulls items from an async iterator only while the peer's
 * credit allows (see item-queue.ts for the rule), so a slow reader pauses the handler's generator
 * instead of piling its output up in memory. The handler's results go out as `rpc.item`, a
 * caller's input as `rpc.in`.
 *
 * The iterator is pulled one item at a time, only after the previous item was sent, and not at all
 * while `sent >= maxOffset`: the most this side ever holds is the item being sent.
 */
import type { Session } from '@echostream/kernel'

export interface ProducerHooks {
  /**
   * Before each item: a promise to wait for when the session cannot take more now (suspended by
   * reconnect, or over its outbound budget), else undefined.
   */
  blocked(): Promise<void> | undefined
  /** Optional: the item as it may be sent (a schema's output), or a promise of it; throws to fail the call. */
  prepare?(item: unknown): unknown
  /** Sends one item frame; returns the encoded byte length of the message (what the credit is charged). */
  send(item: unknown): number
  /** The iterator finished with `value` (a generator's return value). */
  end(value: unknown): void
  /** The iterator threw (or an item could not be sent): `error` is what it threw. */
  fail(error: unknown): void
}

const noop = () => {}

export class Producer {
  /** Bytes of the item messages sent so far, and the credit limit the peer granted. */
  sent = 0
  maxOffset: number
  readonly #iterator: AsyncIterator<unknown>
  readonly #hooks: ProducerHooks
  #stopped = false
  #wake: () => void = noop

  constructor(iterator: AsyncIterator<unknown>, initialCredit: number, hooks: ProducerHooks) {
    this.#iterator = iterator
    this.maxOffset = initialCredit
    this.#hooks = hooks
  }

  get stopped(): boolean {
    return this.#stopped
  }

  /** Starts pulling; never rejects (every failure goes to `hooks.fail`). */
  start(): void {
    this.#run().catch(noop)
  }

  /** The peer granted credit up to `maxOffset` (absolute; a smaller, repeated or reordered grant is ignored). */
  onCredit(maxOffset: number): void {
    if (maxOffset <= this.maxOffset) return
    this.maxOffset = maxOffset
    const wake = this.#wake
    this.#wake = noop
    wake()
  }

  /**
   * Stops pulling and closes the iterator (a generator's `finally` runs). Used when the call
   * ended early: cancelled, the session gone, the other half failed.
   */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    const wake = this.#wake
    this.#wake = noop
    wake()
    closeIterator(this.#iterator)
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.sent >= this.maxOffset) {
          await new Promise<void>((resolve) => (this.#wake = resolve))
          continue
        }
        const blocked = this.#hooks.blocked()
        if (blocked !== undefined) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve
            blocked.then(resolve, resolve)
          })
          continue
        }
        const step = await this.#iterator.next()
        if (this.#stopped) return
        if (step.done) {
          this.#stopped = true
          this.#hooks.end(step.value)
          return
        }
        let item: unknown = step.value
        if (this.#hooks.prepare !== undefined) {
          item = this.#hooks.prepare(item)
          if (item instanceof Promise) {
            item = await item
            if (this.#stopped) return
          }
        }
        this.sent += this.#hooks.send(item)
      }
    } catch (error) {
      if (this.#stopped) return
      this.#stopped = true
      closeIterator(this.#iterator)
      this.#hooks.fail(error)
    }
  }
}

/** `iterator.return()`, whatever it does (absent, throws, rejects). */
export function closeIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const result = iterator.return?.()
    if (result !== undefined && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(noop, noop)
  } catch {
    // a broken iterator: nothing to close
  }
}

/** True for an async iterable (async generators, Readable streams, ReadableStream); never throws. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  try {
    return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  } catch {
    return false
  }
}

/** Whether `session` can still carry frames (open, or suspended with reconnect recording them). */
export function canSend(session: Session): boolean {
  return session.state === 'open' || session.state === 'suspended'
}

/**
 * When a stream should pause before its next item: while the session is suspended (nothing can be
 * delivered; reconnect's offline queue stays free for other traffic, and the stream carries on
 * after the resume), and while the session is over its outbound budget (`writable` false, wire
 * contract 6: the socket's buffer plus what plugins hold queued).
 */
export function blockedOn(session: Session, whenResumed: () => Promise<void>): Promise<void> | undefined {
  if (session.state === 'suspended') return whenResumed()
  if (!session.writable) return session.whenWritable()
  return undefined
}
