/**
 * The last `size` numeric samples, held twice: in arrival order (to know which one leaves) and
 * sorted (so the minimum and any percentile are a lookup). Inserting and evicting are O(size),
 * which for the few hundred samples a jitter buffer keeps is cheaper than sorting on every read.
 */
export class SampleWindow {
  readonly #size: number
  readonly #ring: number[] = []
  readonly #sorted: number[] = []
  #next = 0

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`SampleWindow size must be a positive integer, got ${size}`)
    }
    this.#size = size
  }

  get count(): number {
    return this.#ring.length
  }

  push(sample: number): void {
    if (this.#ring.length < this.#size) {
      this.#ring.push(sample)
    } else {
      const evicted = this.#ring[this.#next]
      this.#ring[this.#next] = sample
      this.#next = (this.#next + 1) % this.#size
      this.#sorted.splice(lowerBound(this.#sorted, evicted), 1)
    }
    this.#sorted.splice(lowerBound(this.#sorted, sample), 0, sample)
  }

  min(): number | undefined {
    return this.#sorted[0]
  }

  /**
   * Nearest-rank percentile, `p` in (0, 1]; undefined while empty. With `z` > 0, the rank is
   * raised by z standard deviations of the binomial count (np(1−p)), which makes the answer an
   * upper confidence bound on the true percentile rather than a point estimate that a fresh
   * sample exceeds with probability 1 − p *plus* the estimation error.
   */
  quantile(p: number, z = 0): number | undefined {
    const n = this.#sorted.length
    if (n === 0) return undefined
    const rank = Math.ceil(p * n + z * Math.sqrt(n * p * (1 - p)))
    return this.#sorted[Math.min(n, Math.max(1, rank)) - 1]
  }

  clear(): void {
    this.#ring.length = 0
    this.#sorted.length = 0
    this.#next = 0
  }
}

/** First index whose value is >= `x` in an ascending array. */
export function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
