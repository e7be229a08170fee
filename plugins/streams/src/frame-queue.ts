/**
 * The reader's unread frames with their credit charges: a ring that doubles when full. A reader
 * adds and takes one frame per chunk; the plain arrays it replaces were emptied with
 * `length = 0` after every burst, which hands their backing stores back to be grown again on the
 * next one (garbage per burst). The ring keeps its capacity, up to RETAINED_CAPACITY once empty.
 */

/** An empty ring above this capacity is given back (a burst of tiny frames should not pin it). */
const RETAINED_CAPACITY = 1024

export class FrameQueue<T> {
  #items: Array<T | undefined>
  #charges: number[]
  #mask: number
  #head = 0
  #size = 0
  /** The charge of the frame the last `shift()` returned. */
  charge = 0

  constructor(capacity = 16) {
    this.#items = new Array<T | undefined>(capacity).fill(undefined)
    this.#charges = new Array<number>(capacity).fill(0)
    this.#mask = capacity - 1
  }

  get size(): number {
    return this.#size
  }

  push(item: T, charge: number): void {
    if (this.#size > this.#mask) this.#grow()
    const at = (this.#head + this.#size) & this.#mask
    this.#items[at] = item
    this.#charges[at] = charge
    this.#size++
  }

  /** The oldest frame (its charge in `charge`), or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined
    const at = this.#head
    const item = this.#items[at]
    this.#items[at] = undefined
    this.charge = this.#charges[at]!
    this.#head = (at + 1) & this.#mask
    if (--this.#size === 0 && this.#mask >= RETAINED_CAPACITY) this.clear()
    return item
  }

  /** Drops every frame (and a large ring). */
  clear(): void {
    const capacity = Math.min(this.#mask + 1, RETAINED_CAPACITY)
    this.#items = new Array<T | undefined>(capacity).fill(undefined)
    this.#charges = new Array<number>(capacity).fill(0)
    this.#mask = capacity - 1
    this.#head = 0
    this.#size = 0
  }

  #grow(): void {
    const capacity = (this.#mask + 1) * 2
    const items = new Array<T | undefined>(capacity).fill(undefined)
    const charges = new Array<number>(capacity).fill(0)
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) & this.#mask
      items[i] = this.#items[from]
      charges[i] = this.#charges[from]!
    }
    this.#items = items
    this.#charges = charges
    this.#mask = capacity - 1
    this.#head = 0
  }
}
