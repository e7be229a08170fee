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

/*
 * Deadlines are in milliseconds, so `add` reads the clock once per run of JavaScript (the reading
 * is forgotten at the next microtask checkpoint), not once per call: `performance.now()` was ~37 ns
 * of the rpc plugin's ~210 ns per call (bench/README "The latency floor"), and the 64 calls a
 * batch issues in one turn now read it once. Node's own timers do the same (they start from the
 * event loop's cached time): a call made late in a long synchronous run expires early by as much
 * as that run took. Expiry (#fire) reads the clock itself.
 */
let cachedNow = -1
const forgetNow = (): void => {
  cachedNow = -1
}
function turnNow(): number {
  if (cachedNow < 0) {
    cachedNow = performance.now()
    queueMicrotask(forgetNow)
  }
  return cachedNow
}
const now = (): number => performance.now()

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
    list.push(item, turnNow() + timeoutMs)
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

export class DeadlineList {
  #head: Timed | undefined = undefined
  #tail: Timed | undefined = undefined
  #timer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(
    readonly timeoutMs: number,
    private readonly owner: Map<number, DeadlineList>,
    private readonly onExpire: (item: Timed) => void,
  ) {}

  get armed(): boolean {
    return this.#timer !== undefined
  }

  push(item: Timed, deadline: number): void {
    item.deadline = deadline
    item.list = this
    item.next = undefined
    item.prev = this.#tail
    if (this.#tail === undefined) this.#head = item
    else this.#tail.next = item
    this.#tail = item
    // An armed timer fires at or before this deadline (it is for an earlier item): nothing to do.
    if (this.#timer === undefined) this.#arm(deadline)
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

  #arm(deadline: number): void {
    // Unref'd: a pending call never needs this timer to keep the process alive (its connection
    // does, and a closed connection fails the call at once).
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(deadline - now())))
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
        if (this.#timer === undefined) this.#arm(this.#head.deadline)
      } else if (this.#timer === undefined && this.owner.get(this.timeoutMs) === this) {
        this.owner.delete(this.timeoutMs)
      }
    }
  }
}
