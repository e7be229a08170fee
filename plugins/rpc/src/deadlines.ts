/**
 * Call timeouts without a timer per call. Creating and clearing a Node timer costs about a
 * microsecond, more than the rest of a call's bookkeeping, and almost every call is answered long
 * before its deadline. So calls with the same timeout go into one intrusive doubly-linked list;
 * equal durations make insertion order deadline order, so only the head needs a timer. A settled
 * call unlinks itself in O(1) (nothing is retained until its deadline); the list's one timer, when
 * it fires, expires the heads that are due and re-arms for the next (Node's own timer lists work
 * this way, but allocate a Timeout object per call).
 */

/** What a list holds: the call itself carries its links (no wrapper object per call). */
export interface Timed {
  deadline: number
  prev: Timed | undefined
  next: Timed | undefined
  list: DeadlineList | undefined
}

const now = (): number => performance.now()

/**
 * How stale a list's clock may get while it holds items: 1/16 of its timeout, from 1 ms to 1 s.
 * A call expires at most this much (+ 2 ms) after its timeout (30 s: ≤ 1 s late; 100 ms: ≤ ~8 ms),
 * never before it.
 */
export const slackOf = (timeoutMs: number): number => Math.min(1000, Math.max(1, timeoutMs / 16))

export class Deadlines<T extends Timed> {
  readonly #lists = new Map<number, DeadlineList>()
  readonly #onExpire: (item: T) => void

  /** `onExpire` runs for each item whose timeout passed (already unlinked). */
  constructor(onExpire: (item: T) => void) {
    this.#onExpire = onExpire
  }

  /** Expires `item` after `timeoutMs` unless it is removed first. */
  add(item: T, timeoutMs: number): void {
    let list = this.#lists.get(timeoutMs)
    if (list === undefined) {
      list = new DeadlineList(timeoutMs, this.#lists, this.#onExpire as (item: Timed) => void)
      this.#lists.set(timeoutMs, list)
    }
    list.push(item)
  }

  /** Forgets `item` (answered, cancelled, failed); a no-op when it is in no list. */
  remove(item: T): void {
    if (item.list !== undefined) item.list.unlink(item)
  }

  /** Stops every timer; items stay linked, so remove or drop them yourself. */
  clear(): void {
    for (const list of this.#lists.values()) list.stop()
    this.#lists.clear()
  }

  /** Timers armed (one per distinct timeout in use): for tests. */
  get timers(): number {
    let count = 0
    for (const list of this.#lists.values()) if (list.armed) count++
    return count
  }
}

/*
 * Deadlines are milliseconds, so a list does not read the clock per item: `performance.now()` and
 * the microtask that forgot a per-turn reading were ~60 ns of the rpc plugin's share of a call
 * (bench/README "The latency floor"). A list keeps the reading it took when its timer was armed or
 * last fired, and keeps its timer due within `slack` of that reading while it holds items; so the
 * true time is at most `slack` past the reading (+ 1 ms: timers fire on whole milliseconds), and
 * an item's deadline, reading + slack + 1 ms + timeout, is never early and at most that much late.
 * (As with Node's own timers, a synchronous run longer than that delays the timer and shifts the
 * bound by as much.)
 */
export class DeadlineList {
  #head: Timed | undefined = undefined
  #tail: Timed | undefined = undefined
  #timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** `now()` when the timer was last armed or fired. */
  #clock = 0
  readonly #slack: number
  /** From the clock's reading to a new item's deadline: slack, rounded up, + 1 ms + timeout. */
  readonly #reach: number

  constructor(
    readonly timeoutMs: number,
    private readonly owner: Map<number, DeadlineList>,
    private readonly onExpire: (item: Timed) => void,
  ) {
    this.#slack = slackOf(timeoutMs)
    this.#reach = Math.ceil(this.#slack) + 1 + timeoutMs
  }

  get armed(): boolean {
    return this.#timer !== undefined
  }

  push(item: Timed): void {
    let deadline: number
    if (this.#timer === undefined) {
      const t = now()
      deadline = t + this.timeoutMs
      this.#arm(t, deadline)
    } else deadline = this.#clock + this.#reach
    item.deadline = deadline
    item.list = this
    item.next = undefined
    item.prev = this.#tail
    if (this.#tail === undefined) this.#head = item
    else this.#tail.next = item
    this.#tail = item
  }

  unlink(item: Timed): void {
    const { prev, next } = item
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
    item.prev = item.next = item.list = undefined
    // The timer stays armed even when the list empties: the next call reuses it (see #fire).
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Arms the timer for `deadline`, or sooner: within `slack` of `t` (the clock, just read). */
  #arm(t: number, deadline: number): void {
    this.#clock = t
    // Unref'd: a pending call never needs this timer to keep the process alive (its connection
    // does, and a closed connection fails the call at once).
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(Math.min(deadline, t + this.#slack) - t)))
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const t = now()
    try {
      let head = this.#head
      while (head !== undefined && head.deadline <= t) {
        this.unlink(head)
        this.onExpire(head)
        head = this.#head
      }
    } finally {
      // (An onExpire that pushed a new item has armed the timer already.)
      if (this.#head !== undefined) {
        if (this.#timer === undefined) this.#arm(t, this.#head.deadline)
      } else if (this.#timer === undefined && this.owner.get(this.timeoutMs) === this) {
        this.owner.delete(this.timeoutMs)
      }
    }
  }
}
