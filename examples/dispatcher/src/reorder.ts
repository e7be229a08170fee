/**
 * Per-session ordering: results finish in any order (jobs run on different workers, some twice);
 * a session receives them by utterance index, each once. `push` returns what may go out now.
 */
export class Reorderer<T> {
  #next = 0
  readonly #waiting = new Map<number, T>()

  /** The lowest index not delivered yet. */
  get next(): number {
    return this.#next
  }

  /** Results held back behind a missing lower index. */
  get waiting(): number {
    return this.#waiting.size
  }

  /**
   * Adds the result for `index`; returns the results now deliverable, in order. An index already
   * delivered or already waiting returns nothing: delivery is exactly once.
   */
  push(index: number, value: T): T[] {
    if (index < this.#next || this.#waiting.has(index)) return []
    this.#waiting.set(index, value)
    const out: T[] = []
    for (let item = this.#waiting.get(this.#next); item !== undefined || this.#waiting.has(this.#next); item = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next)
      this.#next++
      out.push(item as T)
    }
    return out
  }
}
