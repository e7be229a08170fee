/**
 * A table of in-flight entries by request id, the subset of Map's interface the rpc plugin uses.
 *
 * Why not a Map: a call is a set, a get and a delete, and a Map that churns like that is rebuilt
 * into a new hash table every few dozen calls, each obsolete table keeping a link to its successor
 * (for live iterators). Once a table that was live at a scavenge is promoted and then replaced,
 * the dead old table keeps its young successor alive through the next scavenge, which promotes it
 * in turn: a chain that copied ~1.6 MB per scavenge in the calls/s benchmark (and tripled the
 * time spent in GC). This table's array is replaced only when it grows.
 *
 * Ids are allocated in sequence, so a power-of-two array indexed by an id's low bits finds an entry
 * without hashing; an id whose slot is taken (an entry much older than the others, or ids a peer
 * chose to collide) goes to a small Map.
 */

/** Slots a fresh table starts with, the most it grows to, and the size it shrinks back from once empty. */
const INITIAL_SLOTS = 64
const MAX_SLOTS = 1 << 18
const SHRINK_ABOVE = 1024

export class IdTable<T extends { readonly id: number }> {
  #slots: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined)
  #mask = INITIAL_SLOTS - 1
  #overflow: Map<number, T> | undefined = undefined
  size = 0

  get(id: number): T | undefined {
    const entry = this.#slots[id & this.#mask]
    if (entry !== undefined && entry.id === id) return entry
    return this.#overflow === undefined ? undefined : this.#overflow.get(id)
  }

  has(id: number): boolean {
    return this.get(id) !== undefined
  }

  /** Adds an entry whose id is not in the table yet (check with `has` first). */
  set(id: number, entry: T): this {
    const slots = this.#slots
    const index = id & this.#mask
    if (slots[index] === undefined) slots[index] = entry
    else if (this.size >= slots.length >> 1 && slots.length < MAX_SLOTS) {
      this.#resize(slots.length * 2)
      return this.set(id, entry)
    } else (this.#overflow ??= new Map()).set(id, entry)
    this.size++
    return this
  }

  delete(id: number): boolean {
    const slots = this.#slots
    const index = id & this.#mask
    const entry = slots[index]
    if (entry !== undefined && entry.id === id) slots[index] = undefined
    else if (this.#overflow === undefined || !this.#overflow.delete(id)) return false
    if (--this.size === 0 && slots.length > SHRINK_ABOVE) this.#resize(INITIAL_SLOTS)
    return true
  }

  clear(): void {
    this.#slots = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined)
    this.#mask = INITIAL_SLOTS - 1
    this.#overflow = undefined
    this.size = 0
  }

  /** The entries, lowest id first. */
  values(): T[] {
    const entries: T[] = []
    for (const entry of this.#slots) if (entry !== undefined) entries.push(entry)
    if (this.#overflow !== undefined) entries.push(...this.#overflow.values())
    return entries.sort((a, b) => a.id - b.id)
  }

  #resize(slots: number): void {
    const entries = this.values()
    this.clear()
    this.#slots = new Array<T | undefined>(slots).fill(undefined)
    this.#mask = slots - 1
    for (const entry of entries) this.set(entry.id, entry)
  }
}
