/**
 * The writers the send pump serves, in round-robin order. An array, not a Set: every chunk sent
 * takes its writer out of the line and puts it back, and a Set churned like that rebuilds its hash
 * table every few operations, V8 linking each obsolete table to its successor (for live
 * iterators). Once one such table is promoted to the old generation, the dead table keeps its
 * young successor alive through the next scavenge, which promotes it in turn: under a 64 KiB-chunk
 * stream that chain alone caused a full GC every ~25 ms. Few writers are ready at a time, so a
 * linear search is cheap.
 */
export class ReadyList<T> {
  readonly #items: T[] = []

  get size(): number {
    return this.#items.length
  }

  /** The writer at `index` (for the pump's scan), or undefined past the end. */
  at(index: number): T | undefined {
    return this.#items[index]
  }

  /** Adds `item` at the back, unless it is already in the line. */
  add(item: T): void {
    if (!this.#items.includes(item)) this.#items.push(item)
  }

  delete(item: T): boolean {
    const index = this.#items.indexOf(item)
    if (index < 0) return false
    this.removeAt(index)
    return true
  }

  removeAt(index: number): void {
    const items = this.#items
    for (let i = index + 1; i < items.length; i++) items[i - 1] = items[i]!
    items.pop()
  }

  clear(): void {
    this.#items.length = 0
  }
}
